"""Fitting the detector-box → annotation-box calibration on a labelled VOC split.

Annotators disagree on what a face box is (some draw the face, some the whole head with
hair), so the median ratio alone is a poor fit. The fit starts from the median and then
searches a small grid for the calibration that puts the most ground-truth faces at IoU >= 0.5
with their matched detection: that is what face recall and AP50 count.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from maskwatch.config import BoxCalibration
from maskwatch.errors import MaskwatchError
from maskwatch.images import read_bgr
from maskwatch.inference.detector import FaceDetector, calibrate
from maskwatch.inference.metrics import match_greedy
from maskwatch.voc import VocImage

MATCH_IOU = 0.5


@dataclass(frozen=True)
class CalibrationFit:
    calibration: BoxCalibration
    pairs: int  # matched detector/ground-truth pairs the median came from
    hit_rate_before: float  # share of ground truth at IoU >= 0.5 without calibration
    hit_rate_after: float


def _hit_rate(samples: list[tuple[np.ndarray, np.ndarray]], cal: BoxCalibration) -> float:
    found = total = 0
    for raw, gt in samples:
        total += len(gt)
        if len(raw):
            boxes = calibrate(raw, cal)
            found += int((match_greedy(boxes[:, :4], boxes[:, 4], gt, MATCH_IOU) >= 0).sum())
    return found / max(total, 1)


def _median_fit(samples: list[tuple[np.ndarray, np.ndarray]]) -> tuple[BoxCalibration, int]:
    rows = []
    for raw, gt in samples:
        if not len(raw):
            continue
        matches = match_greedy(raw[:, :4], raw[:, 4], gt, 0.3)
        for det, m in zip(raw, matches, strict=True):
            if m < 0:
                continue
            g = gt[m]
            dw, dh = det[2] - det[0], det[3] - det[1]
            rows.append(
                (
                    ((g[0] + g[2]) - (det[0] + det[2])) / 2 / dw,
                    ((g[1] + g[3]) - (det[1] + det[3])) / 2 / dh,
                    (g[2] - g[0]) / dw,
                    (g[3] - g[1]) / dh,
                )
            )
    if not rows:
        raise MaskwatchError("no detector box matched any ground-truth box; cannot fit a calibration")
    med = np.median(np.array(rows), axis=0)
    return BoxCalibration(dx=float(med[0]), dy=float(med[1]), sw=float(med[2]), sh=float(med[3])), len(rows)


def fit_calibration(detector: FaceDetector, images: Iterable[VocImage]) -> CalibrationFit:
    samples = []
    for item in tqdm(list(images), desc="detect", unit="img"):
        gt = np.array([o.box for o in item.objects], dtype=np.float64).reshape(-1, 4)
        if len(gt):
            samples.append((detector.detect_raw(read_bgr(item.image_path)), gt))
    median, pairs = _median_fit(samples)
    grid = itertools.product(
        np.round(median.dy + np.arange(-0.06, 0.061, 0.02), 3),
        np.round(median.sw * np.arange(0.9, 1.101, 0.05), 3),
        np.round(median.sh * np.arange(0.9, 1.101, 0.05), 3),
    )
    candidates = [median] + [BoxCalibration(dx=median.dx, dy=dy, sw=sw, sh=sh) for dy, sw, sh in grid]
    scored = [(_hit_rate(samples, c), i) for i, c in enumerate(tqdm(candidates, desc="fit", unit="cal"))]
    best_rate, best = max(scored)
    return CalibrationFit(
        calibration=candidates[best],
        pairs=pairs,
        hit_rate_before=_hit_rate(samples, BoxCalibration()),
        hit_rate_after=best_rate,
    )
