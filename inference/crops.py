"""The face crop fed to the classifier. Training uses this same function, so crops match."""

from __future__ import annotations

import cv2
import numpy as np

from maskwatch.boxes import square_crop_box

#: Context around the (head-sized, calibrated) box; the mask's edges and the nose must be in view.
CROP_MARGIN = 0.1


def crop_face(
    image_bgr: np.ndarray, box: tuple[float, float, float, float], size: int, margin: float = CROP_MARGIN
) -> np.ndarray:
    """Square RGB crop of `size` px around `box`; parts outside the image are edge-replicated."""
    h, w = image_bgr.shape[:2]
    x1, y1, x2, y2 = square_crop_box(box, margin)
    pad_l, pad_t = max(0, -x1), max(0, -y1)
    pad_r, pad_b = max(0, x2 - w), max(0, y2 - h)
    region = image_bgr[max(0, y1) : min(h, y2), max(0, x1) : min(w, x2)]
    if region.size == 0:
        region = np.zeros((1, 1, 3), dtype=np.uint8)
    elif pad_l or pad_t or pad_r or pad_b:
        region = cv2.copyMakeBorder(region, pad_t, pad_b, pad_l, pad_r, cv2.BORDER_REPLICATE)
    interp = cv2.INTER_AREA if region.shape[0] > size else cv2.INTER_LINEAR
    resized = cv2.resize(region, (size, size), interpolation=interp)
    return cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
