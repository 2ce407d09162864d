"""AP, matching and NMS on hand-made cases whose answers are worked out by hand."""

import numpy as np
import pytest

from maskwatch.boxes import iou_matrix, nms, square_crop_box
from maskwatch.inference.metrics import ImageBoxes, average_precision, class_ap, match_greedy

E = np.zeros((0, 4))


def boxes(*b: tuple[float, float, float, float]) -> np.ndarray:
    return np.array(b, dtype=float).reshape(-1, 4)


def test_iou_known_values() -> None:
    a = boxes((0, 0, 10, 10))
    b = boxes((0, 0, 10, 10), (5, 0, 15, 10), (20, 20, 30, 30))
    assert iou_matrix(a, b)[0].tolist() == pytest.approx([1.0, 50 / 150, 0.0])


def test_nms_keeps_best_of_overlapping() -> None:
    b = boxes((0, 0, 10, 10), (1, 1, 11, 11), (50, 50, 60, 60))
    assert nms(b, np.array([0.5, 0.9, 0.7]), 0.5) == [1, 2]


def test_match_greedy_prefers_high_score_and_matches_once() -> None:
    gt = boxes((0, 0, 10, 10))
    pred = boxes((0, 0, 10, 10), (0, 0, 10, 9))
    assert match_greedy(pred, np.array([0.2, 0.9]), gt, 0.5).tolist() == [-1, 0]


def test_perfect_detector_has_ap_one() -> None:
    im = ImageBoxes(
        boxes((0, 0, 10, 10), (20, 20, 30, 30)), np.array([0.9, 0.8]), boxes((0, 0, 10, 10), (20, 20, 30, 30)), E
    )
    assert class_ap([im]).ap == pytest.approx(1.0)


def test_half_recall_ap() -> None:
    # One of two faces found, no false positives: precision 1 up to recall 0.5.
    im = ImageBoxes(boxes((0, 0, 10, 10)), np.array([0.9]), boxes((0, 0, 10, 10), (20, 20, 30, 30)), E)
    assert class_ap([im]).ap == pytest.approx(0.5)


def test_false_positive_ranked_first() -> None:
    # Ranking: FP (0.9), TP (0.8). Precision at recall 1 is 1/2 -> AP 0.5.
    im = ImageBoxes(boxes((50, 50, 60, 60), (0, 0, 10, 10)), np.array([0.9, 0.8]), boxes((0, 0, 10, 10)), E)
    assert class_ap([im]).ap == pytest.approx(0.5)


def test_interpolated_envelope() -> None:
    # Ranking TP, FP, TP over two images with 2 GT: points (r.5, p1), (r.5, p.5), (r1, p2/3).
    # Envelope: p=1 on [0, .5], p=2/3 on (.5, 1] -> AP = .5 + .5*2/3.
    a = ImageBoxes(boxes((0, 0, 10, 10), (40, 40, 50, 50)), np.array([0.9, 0.8]), boxes((0, 0, 10, 10)), E)
    b = ImageBoxes(boxes((0, 0, 10, 10)), np.array([0.7]), boxes((0, 0, 10, 10)), E)
    assert class_ap([a, b]).ap == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_duplicate_detection_is_false_positive() -> None:
    im = ImageBoxes(boxes((0, 0, 10, 10), (0, 0, 10, 10)), np.array([0.9, 0.8]), boxes((0, 0, 10, 10)), E)
    res = class_ap([im])
    assert res.ap == pytest.approx(1.0)  # the duplicate comes after full recall
    assert res.precision[-1] == pytest.approx(0.5)


def test_ignored_ground_truth_neither_helps_nor_hurts() -> None:
    ignore = boxes((20, 20, 30, 30))
    im = ImageBoxes(boxes((20, 20, 30, 30), (0, 0, 10, 10)), np.array([0.9, 0.8]), boxes((0, 0, 10, 10)), ignore)
    assert class_ap([im]).ap == pytest.approx(1.0)


def test_no_ground_truth_gives_nan() -> None:
    assert np.isnan(class_ap([ImageBoxes(E, np.zeros(0), E, E)]).ap)


def test_average_precision_step() -> None:
    assert average_precision(np.array([0.25, 0.5]), np.array([1.0, 0.5])) == pytest.approx(0.25 + 0.25 * 0.5)


def test_square_crop_box_is_square_and_centred() -> None:
    x1, y1, x2, y2 = square_crop_box((10, 20, 30, 60), margin=0.25)
    assert x2 - x1 == y2 - y1 == 60
    assert (x1 + x2) / 2 == 20 and (y1 + y2) / 2 == 40
