"""Drawing results onto frames (annotated images for `detect`, snapshots for the service)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import cv2
import numpy as np

from maskwatch.areas import CameraAreas, outline_px
from maskwatch.boxes import square_crop_box
from maskwatch.labels import MASK_INCORRECT, WITH_MASK, WITHOUT_MASK, display_name

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


_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _label_origin(
    size: tuple[int, int], base: int, face: tuple[int, int, int, int], frame: tuple[int, int]
) -> tuple[int, int]:
    """Where a label's box goes (its top-left corner): on the face box's top edge, moved inside the
    frame at every edge, so a face at the border keeps a readable label."""
    (tw, th), (x1, y1, _, _), (w, h) = size, face, frame
    left = min(max(x1, 0), max(w - tw, 0))
    top = min(max(y1 - th - base, 0), max(h - th - base, 0))
    return left, top


def draw_faces(image_bgr: np.ndarray, faces: Sequence[LabelledBox]) -> np.ndarray:
    """Each face's box, and a label with the words the console uses for it and its score."""
    out: np.ndarray = image_bgr.copy()
    h, w = out.shape[:2]
    thickness = max(1, round(max(h, w) / 500))
    for face in faces:
        colour = COLOURS_BGR.get(face.label, UNDETERMINED_BGR)
        x1, y1, x2, y2 = (round(v) for v in face.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thickness)
        text = f"{display_name(face.label)} {face.score:.2f}"
        scale = 0.5 * thickness
        (tw, th), base = cv2.getTextSize(text, _FONT, scale, thickness)
        if tw > w:  # a frame narrower than its label: smaller letters rather than cut-off ones
            scale *= w / tw
            (tw, th), base = cv2.getTextSize(text, _FONT, scale, thickness)
        left, top = _label_origin((tw, th), base, (x1, y1, x2, y2), (w, h))
        cv2.rectangle(out, (left, top), (left + tw, top + th + base), colour, -1)
        cv2.putText(out, text, (left, top + th), _FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return out


def draw_caption(image_bgr: np.ndarray, text: str) -> np.ndarray:
    """`text` (the camera and the time) in a dark band at the bottom left, inside the frame, so a
    snapshot passed on by itself still says where and when it was taken."""
    out: np.ndarray = image_bgr.copy()
    h, w = out.shape[:2]
    thickness = max(1, round(max(h, w) / 700))
    scale = 0.5 * thickness
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, thickness)
    pad = 3 * thickness
    if tw + 2 * pad > w:
        scale *= (w - 2 * pad) / max(tw, 1)
        (tw, th), base = cv2.getTextSize(text, _FONT, scale, thickness)
    top = max(h - th - base - 2 * pad, 0)
    band = out[top:h, 0 : min(w, tw + 2 * pad)]
    band[:] = (band * 0.35).astype(out.dtype)  # darkened, not hidden: what is behind stays visible
    cv2.putText(out, text, (pad, h - base - pad), _FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)
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


def draw_grid(image_bgr: np.ndarray, step: float = 0.1) -> np.ndarray:
    """Faint lines at every tenth of the picture, numbered along the top and left edges: areas are
    written in fractions of the picture, and this is where those fractions fall."""
    h, w = image_bgr.shape[:2]
    lines = image_bgr.copy()
    scale = max(0.35, min(w, h) / 1400)
    steps = round(1 / step)
    for i in range(1, steps):
        x, y = round(w * i * step), round(h * i * step)
        cv2.line(lines, (x, 0), (x, h - 1), (255, 255, 255), 1)
        cv2.line(lines, (0, y), (w - 1, y), (255, 255, 255), 1)
    out = cv2.addWeighted(lines, 0.35, image_bgr, 0.65, 0)
    for i in range(1, steps):
        text = f"{i * step:.1f}"
        x, y = round(w * i * step), round(h * i * step)
        for at in ((x + 3, round(18 * scale / 0.5)), (3, y - 4)):
            cv2.putText(out, text, at, _FONT, scale, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(out, text, at, _FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
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


def blur_marked(image_bgr: np.ndarray, face: LabelledBox) -> np.ndarray:
    """An annotated picture with `face` blurred, and its box and label drawn again on top: whoever
    sees it can tell which person the alert is about, without seeing who it is."""
    return draw_faces(blur_faces(image_bgr, [face.box]), [face])
