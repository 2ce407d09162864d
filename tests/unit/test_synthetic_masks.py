"""Masks painted on unmasked faces: where the mask goes decides the label, so it must go there."""

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from maskwatch.training.synthetic_masks import Landmarks, mask_polygon, paint_mask


def face(roll_deg: float = 0.0, centre: tuple[float, float] = (100.0, 100.0)) -> Landmarks:
    """A frontal face's five points (eye gap 40 px, eyes to mouth 48 px), rolled about `centre`."""
    points = np.array([(80, 80), (120, 80), (100, 108), (84, 128), (116, 128)], np.float64)
    a = np.deg2rad(roll_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return Landmarks(*((points - centre) @ rot.T + centre))


def covers(outline: np.ndarray, point: np.ndarray) -> bool:
    return cv2.pointPolygonTest(outline.astype(np.float32), (float(point[0]), float(point[1])), False) > 0


@pytest.mark.parametrize("roll", [0.0, 25.0, -35.0])
@pytest.mark.parametrize("seed", range(5))
def test_each_placement_covers_what_it_should(roll: float, seed: int) -> None:
    lm = face(roll)
    rng = np.random.default_rng(seed)
    mouth = (lm.mouth_left + lm.mouth_right) / 2
    chin = mouth + (mouth - (lm.left_eye + lm.right_eye) / 2) * 0.6
    over, under, chin_only = (mask_polygon(lm, p, rng) for p in ("over_nose", "under_nose", "on_chin"))
    assert covers(over, lm.nose) and covers(over, mouth) and covers(over, chin)
    assert not covers(under, lm.nose) and covers(under, mouth) and covers(under, chin)
    assert not covers(chin_only, lm.nose) and not covers(chin_only, mouth) and covers(chin_only, chin)
    for outline in (over, under, chin_only):
        assert not covers(outline, lm.left_eye) and not covers(outline, lm.right_eye)


def test_the_mask_narrows_on_the_far_side_of_a_turned_head() -> None:
    lm = face()
    turned = Landmarks(lm.right_eye, lm.left_eye, lm.nose + np.array([12.0, 0.0]), lm.mouth_right, lm.mouth_left)
    outline = mask_polygon(turned, "over_nose", np.random.default_rng(0))
    centre_x = (turned.nose[0] + (turned.mouth_left[0] + turned.mouth_right[0]) / 2) / 2
    assert outline[:, 0].max() - centre_x < centre_x - outline[:, 0].min()


def test_painting_changes_only_the_lower_face() -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(60, 200, (200, 200, 3), dtype=np.uint8)
    lm = face()
    painted = paint_mask(image, lm, "under_nose", rng)
    changed = np.abs(painted.astype(int) - image.astype(int)).max(axis=2) > 0
    rows = np.flatnonzero(changed.any(axis=1))
    assert rows.min() > lm.nose[1]  # nothing at or above the nose tip
    assert changed[int(lm.mouth_left[1]), int(lm.mouth_left[0])]
    assert not changed[:60].any() and not changed[:, :40].any()


@pytest.mark.shared
def test_synthetic_source_gives_each_face_both_masks(shared: Path) -> None:
    from maskwatch.training.config import SourceConfig
    from maskwatch.training.sources import CropSet, read_synthetic

    folder = shared / "datasets" / "face-crops-chandrikadeb7" / "without_mask"
    out = CropSet()
    read_synthetic(SourceConfig(kind="synthetic", path=folder, limit=12), 96, 0, out)
    assert len(out) >= 16 and len(out) % 2 == 0  # the detector finds most of these faces
    assert Counter(out.labels) == {0: len(out) // 2, 2: len(out) // 2}  # with_mask, mask_incorrect
    assert out.groups[0::2] == out.groups[1::2]  # a face's two versions stay on one side of the split
    assert all(img.shape == (96, 96, 3) for img in out.images)
    assert not np.array_equal(out.images[0], out.images[1])
