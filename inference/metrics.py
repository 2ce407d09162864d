"""Detection metrics: greedy IoU matching and VOC all-point average precision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from maskwatch.boxes import iou_matrix


def match_greedy(pred: np.ndarray, scores: np.ndarray, gt: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Match predictions (highest score first) to unmatched ground truth.

    Returns, for each prediction, the index of the matched ground-truth box or -1.
    """
    result = np.full(len(pred), -1, dtype=int)
    if len(pred) == 0 or len(gt) == 0:
        return result
    ious = iou_matrix(pred, gt)
    taken = np.zeros(len(gt), dtype=bool)
    for i in np.argsort(-np.asarray(scores), kind="stable"):
        candidates = np.where(~taken, ious[i], -1.0)
        j = int(np.argmax(candidates))
        if candidates[j] >= iou_threshold:
            result[i] = j
            taken[j] = True
    return result


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """VOC 2010+ all-point interpolated AP (area under the monotone precision envelope)."""
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


@dataclass(frozen=True)
class ImageBoxes:
    """One image's boxes for a single class: predictions and ground truth (with ignore regions)."""

    pred_boxes: np.ndarray  # (N, 4)
    pred_scores: np.ndarray  # (N,)
    gt_boxes: np.ndarray  # (M, 4) boxes to find
    ignore_boxes: np.ndarray  # (K, 4) boxes whose matches count neither way


@dataclass(frozen=True)
class APResult:
    ap: float
    recall: np.ndarray
    precision: np.ndarray
    n_gt: int


def class_ap(images: Sequence[ImageBoxes], iou_threshold: float = 0.5) -> APResult:
    """AP of one class over a data set, VOC style.

    A prediction is a true positive when it matches a not-yet-matched ground-truth box; a
    prediction that instead matches an ignore box is dropped (neither TP nor FP).
    """
    scores: list[float] = []
    tp: list[bool] = []
    n_gt = 0
    for im in images:
        n_gt += len(im.gt_boxes)
        if len(im.pred_boxes) == 0:
            continue
        matches = match_greedy(im.pred_boxes, im.pred_scores, im.gt_boxes, iou_threshold)
        ignored = np.zeros(len(im.pred_boxes), dtype=bool)
        if len(im.ignore_boxes):
            best_ignore = iou_matrix(im.pred_boxes, im.ignore_boxes).max(axis=1)
            ignored = (matches < 0) & (best_ignore >= iou_threshold)
        for score, m, ign in zip(im.pred_scores, matches, ignored, strict=True):
            if not ign:
                scores.append(float(score))
                tp.append(bool(m >= 0))
    if n_gt == 0:
        return APResult(float("nan"), np.zeros(0), np.zeros(0), 0)
    order = np.argsort(-np.array(scores), kind="stable")
    tp_sorted = np.array(tp, dtype=float)[order]
    ctp = np.cumsum(tp_sorted)
    cfp = np.cumsum(1.0 - tp_sorted)
    recall = ctp / n_gt
    precision = ctp / np.maximum(ctp + cfp, 1e-12)
    return APResult(average_precision(recall, precision), recall, precision, n_gt)
