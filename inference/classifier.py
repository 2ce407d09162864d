"""The mask classifier on the LiteRT interpreter, batched. No Keras or TensorFlow here."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from maskwatch.config import ClassifierConfig
from maskwatch.errors import ModelFileError
from maskwatch.labels import CLASSES

SHIPPED_CLASSIFIER = Path(__file__).resolve().parent / "models" / "mask_classifier.tflite"


# Printed by LiteRT's C++ logger when it first applies its default CPU delegate, once a process. That
# logger reads no setting (TF_CPP_MIN_LOG_LEVEL included) and the Python API offers none.
DELEGATE_NOTICE = b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"


@contextlib.contextmanager
def without_delegate_notice() -> Iterator[None]:
    """Standard error (file descriptor 2, where C++ writes) caught for the length of the block and
    written out after it without DELEGATE_NOTICE: a real error, or another thread's log line, still
    shows, a moment later."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no standard error at all: nothing to keep quiet
        yield
        return
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            rest = caught.read().replace(DELEGATE_NOTICE, b"")
            if rest:
                os.write(2, rest)


def classifier_path(config: ClassifierConfig) -> Path:
    """The configured classifier, or the one shipped with maskwatch."""
    return config.model_path or SHIPPED_CLASSIFIER


class MaskClassifier:
    """Batched three-class classifier. Input: RGB uint8 crops (N, S, S, 3); output: probs (N, 3)."""

    def __init__(self, model_path: Path, batch_size: int = 32, threads: int = 1) -> None:
        if not model_path.is_file():
            raise ModelFileError(f"mask classifier model {model_path} does not exist")
        try:
            self._interp = Interpreter(model_path=str(model_path), num_threads=threads)
            with without_delegate_notice():  # the delegate is applied at the first allocation
                self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelFileError(f"mask classifier model {model_path} is not a valid TFLite file: {exc}") from None
        inp = self._interp.get_input_details()[0]
        out = self._interp.get_output_details()[0]
        if len(inp["shape"]) != 4 or inp["shape"][1] != inp["shape"][2] or out["shape"][-1] != len(CLASSES):
            raise ModelFileError(
                f"{model_path}: expected input (N, S, S, 3) and {len(CLASSES)} outputs, "
                f"got {inp['shape'].tolist()} -> {out['shape'].tolist()}"
            )
        self.input_size = int(inp["shape"][1])
        self.batch_size = batch_size
        self._in_index = inp["index"]
        self._out_index = out["index"]
        self._in_dtype = inp["dtype"]
        self._in_quant = inp.get("quantization", (0.0, 0))
        self._out_quant = out.get("quantization", (0.0, 0))
        self._current_batch = int(inp["shape"][0])
        # A LiteRT interpreter is not thread-safe; callers may share one classifier.
        self._lock = threading.Lock()

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape[0] != self._current_batch:
            self._interp.resize_tensor_input(self._in_index, list(batch.shape), strict=False)
            self._interp.allocate_tensors()
            self._current_batch = batch.shape[0]
        scale, zero = self._in_quant
        if self._in_dtype == np.float32:
            data = batch.astype(np.float32)
        else:
            data = np.clip(np.round(batch / scale + zero), np.iinfo(self._in_dtype).min, np.iinfo(self._in_dtype).max)
            data = data.astype(self._in_dtype)
        self._interp.set_tensor(self._in_index, data)
        self._interp.invoke()
        result = self._interp.get_tensor(self._out_index)
        out_scale, out_zero = self._out_quant
        if result.dtype != np.float32 and out_scale:
            result = (result.astype(np.float32) - out_zero) * out_scale
        return np.asarray(result, dtype=np.float32)

    def predict(self, crops: np.ndarray) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros((0, len(CLASSES)), dtype=np.float32)
        s = self.input_size
        if crops.shape[1:] != (s, s, 3):
            raise ValueError(f"crops must be (N, {s}, {s}, 3), got {crops.shape}")
        with self._lock:
            # Full batches keep one tensor shape; only the tail batch triggers a reallocation.
            parts = [self._run(crops[i : i + self.batch_size]) for i in range(0, len(crops), self.batch_size)]
        return np.concatenate(parts)
