"""Drawing results onto frames (annotated images for `detect`, snapshots for the service)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import cv2
import numpy as np

from maskwatch.areas import CameraAreas, outline_px
from maskwatch.boxes import square_crop_box
from maskwatch.labels import MASK_INCORRECT, WITH_MASK, WITHOUT_MASK

COLOURS_BGR = {
    WITH_MASK: (60, 180, 60),
    WITHOUT_MASK: (40, 40, 230),
    MASK_INCORRECT: (0, 150, 255),
}
UNDETERMINED_BGR = (160, 160, 160)


class LabelledBox(Protocol):
    @property
    def box(self) -> tuple[float, float, float, float]: ...
    @property
    def label(self) -> str: ...
    @property
    def score(self) -> float: ...


def draw_faces(image_bgr: np.ndarray, faces: Sequence[LabelledBox]) -> np.ndarray:
    out: np.ndarray = image_bgr.copy()
    thickness = max(1, round(max(out.shape[:2]) / 500))
    for face in faces:
        colour = COLOURS_BGR.get(face.label, UNDETERMINED_BGR)
        x1, y1, x2, y2 = (round(v) for v in face.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thickness)
        text = f"{face.label} {face.score:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, thickness)
        ty = max(y1, th + base)
        cv2.rectangle(out, (x1, ty - th - base), (x1 + tw, ty), colour, -1)
        cv2.putText(out, text, (x1, ty - base), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, (255, 255, 255), thickness)
    return out


WATCH_BGR = (60, 180, 60)
IGNORE_BGR = (40, 40, 230)
SEARCH_BGR = (230, 160, 40)


def draw_areas(image_bgr: np.ndarray, areas: CameraAreas, region: tuple[int, int, int, int] | None) -> np.ndarray:
    """A camera's watch areas (green), ignore areas (red, shaded) and the rectangle the detector
    searches (blue), for an operator checking where the areas fall."""
    h, w = image_bgr.shape[:2]
    thickness = max(1, round(max(h, w) / 500))
    shade = image_bgr.copy()
    for area in areas.ignore:
        cv2.fillPoly(shade, [outline_px(area, w, h)], IGNORE_BGR)
    out = cv2.addWeighted(shade, 0.35, image_bgr, 0.65, 0)
    for group, colour in ((areas.watch, WATCH_BGR), (areas.ignore, IGNORE_BGR)):
        for area in group:
            cv2.polylines(out, [outline_px(area, w, h)], True, colour, thickness)
    if region is not None:
        cv2.rectangle(out, region[:2], (region[2] - 1, region[3] - 1), SEARCH_BGR, thickness)
    return out


# Coarse enough that no face can be recognised or restored: a face becomes a few blocks of colour.
_BLUR_BLOCKS = 6


def blur_faces(image_bgr: np.ndarray, boxes: Sequence[tuple[float, float, float, float]]) -> np.ndarray:
    """A copy with each box (grown by a quarter, to take in hair and ears) pixelated and smoothed:
    the people in a snapshot who did nothing wrong are not shown."""
    out: np.ndarray = image_bgr.copy()
    h, w = out.shape[:2]
    for box in boxes:
        x1, y1, x2, y2 = square_crop_box(box, 0.25)
        x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
        if x2 - x1 < 2 or y2 - y1 < 2:
            continue
        region = out[y1:y2, x1:x2]
        small = cv2.resize(region, (_BLUR_BLOCKS, _BLUR_BLOCKS), interpolation=cv2.INTER_AREA)
        blocks = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
        kernel = max(3, ((min(x2 - x1, y2 - y1) // _BLUR_BLOCKS) | 1))
        out[y1:y2, x1:x2] = cv2.GaussianBlur(blocks, (kernel, kernel), 0)
    return out
