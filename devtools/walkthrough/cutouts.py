"""Cut-outs: a person's head and shoulders with a feathered alpha, ready to paste on a scene."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import cv2
import numpy as np

Box = tuple[float, float, float, float]

# How far a head-and-shoulders cut reaches around the face box: face widths to each side,
# face heights above and below (the shoulders need more room than the hair).
SIDE_W, ABOVE_H, BELOW_H = 0.9, 0.6, 1.6
# Without this much below the chin a cut is a floating head with a straight edge under it.
MIN_BELOW_H = 0.7


@dataclass(frozen=True)
class Cutout:
    image: np.ndarray  # BGR uint8
    alpha: np.ndarray  # float32 in [0, 1], same height and width as `image`
    face: Box  # the face box in cut-out pixels


def key_rng(key: str) -> np.random.Generator:
    """A generator seeded by the cut-out's key, so a cut-out rebuilt from the cache is the same."""
    return np.random.default_rng(int(hashlib.sha256(key.encode()).hexdigest()[:12], 16))


def head_and_shoulders(image: np.ndarray, face: Box, others: tuple[Box, ...] = ()) -> Cutout | str:
    """The face with hair and shoulders from a photo, or why it cannot be cut out."""
    x1, y1, x2, y2 = face
    w, h = x2 - x1, y2 - y1
    rows, cols = image.shape[:2]
    cx1, cy1 = max(0, math.floor(x1 - SIDE_W * w)), max(0, math.floor(y1 - ABOVE_H * h))
    cx2, cy2 = min(cols, math.ceil(x2 + SIDE_W * w)), min(rows, math.ceil(y2 + BELOW_H * h))
    if cy2 - y2 < MIN_BELOW_H * h:
        return "no shoulders in the photo"
    for ox1, oy1, ox2, oy2 in others:
        if cx1 <= (ox1 + ox2) / 2 <= cx2 and cy1 <= (oy1 + oy2) / 2 <= cy2:
            return "another face in the cut"
    box = (x1 - cx1, y1 - cy1, x2 - cx1, y2 - cy1)
    cut = np.ascontiguousarray(image[cy1:cy2, cx1:cx2])
    return Cutout(cut, person_alpha(cut.shape[:2], box), box)


def _body_mask(shape: tuple[int, int], face: Box, head: bool, drop: float = 1.15, span: float = 1.5) -> np.ndarray:
    """Neck and shoulders (and the head, an ellipse a little taller than the face box) as 0/255:
    the shoulders an ellipse `span` face widths to each side, its centre `drop` heights under the chin."""
    x1, y1, x2, y2 = face
    w, h = x2 - x1, y2 - y1
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    mask = np.zeros(shape, np.uint8)
    s = 4  # cv2 drawing with shift=2: quarter-pixel positions

    def pt(x: float, y: float) -> tuple[int, int]:
        return round(x * s), round(y * s)

    if head:
        cv2.ellipse(mask, pt(cx, cy - 0.06 * h), pt(0.6 * w, 0.66 * h), 0, 0, 360, 255, -1, cv2.LINE_AA, 2)
    cv2.rectangle(mask, pt(cx - 0.28 * w, cy), pt(cx + 0.28 * w, y2 + 0.45 * h), 255, -1, cv2.LINE_AA, 2)
    cv2.ellipse(mask, pt(cx, y2 + drop * h), pt(span * w, 0.9 * h), 0, 0, 360, 255, -1, cv2.LINE_AA, 2)
    return mask


def _edge_fade(alpha: np.ndarray, face: Box) -> np.ndarray:
    """Fade the alpha out toward the cut's sides and bottom: a photo's rectangle must not show."""
    rows, cols = alpha.shape
    w, h = face[2] - face[0], face[3] - face[1]
    side = max(2.0, 0.12 * w)
    xs = np.arange(cols, dtype=np.float32)
    horizontal = np.clip(np.minimum(xs + 0.5, cols - xs - 0.5) / side, 0, 1)
    ys = np.arange(rows, dtype=np.float32)
    top = np.clip((ys + 0.5) / side, 0, 1)
    # The chest fades out below the shoulders, over a third of a face height at least (a photo
    # cut off closer under the chin would otherwise end in a straight edge).
    fade_from = min(face[3] + 0.9 * h, rows - 0.35 * h)
    bottom = np.clip(1.0 - (ys - fade_from) / max(1.0, rows - fade_from), 0, 1)
    return alpha * (top * bottom)[:, None] * horizontal[None, :]


def person_alpha(shape: tuple[int, int], face: Box) -> np.ndarray:
    """A feathered head ellipse with neck and shoulders, for a cut from a photo."""
    w = face[2] - face[0]
    mask = _body_mask(shape, face, head=True).astype(np.float32) / 255.0
    alpha = cv2.GaussianBlur(mask, (0, 0), sigmaX=max(1.0, 0.06 * w))
    return _edge_fade(alpha, face)


def _clothing(rng: np.random.Generator) -> tuple[float, float, float]:
    hue = rng.uniform(0, 180)
    hsv = np.array([[[hue, rng.uniform(40, 180), rng.uniform(40, 200)]]], np.float32)
    bgr = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return float(bgr[0]), float(bgr[1]), float(bgr[2])


def face_with_torso(crop: np.ndarray, key: str) -> Cutout:
    """A tight face crop on a drawn neck and torso, so it stands on a scene as a person does."""
    rng = key_rng(key)
    h, w = crop.shape[:2]
    top = round(0.12 * h)
    cols, rows = round((1 + 2 * SIDE_W) * w), round(top + (1 + BELOW_H) * h)
    fx1 = round(SIDE_W * w)
    face = (float(fx1), float(top), float(fx1 + w), float(top + h))
    # A crop's width is the face's alone (no hair, no ears): the shoulders start higher and narrower.
    body = _body_mask((rows, cols), face, head=False, drop=1.0, span=1.35).astype(np.float32) / 255.0
    # Skin from between the eyes and the mouth (a mask covers the lower face, so no lower).
    skin = np.median(crop[int(0.2 * h) : int(0.45 * h), int(0.3 * w) : int(0.7 * w)].reshape(-1, 3), axis=0)
    neck_rows = np.arange(rows)[:, None] < face[3] + 0.35 * h
    colour = np.where(neck_rows[..., None], skin * 0.85, np.array(_clothing(rng)))
    shade = np.linspace(1.1, 0.75, rows, dtype=np.float32)[:, None, None]  # light from above
    layer = colour * shade + rng.normal(0, 5, (rows, cols, 3))
    canvas = np.clip(layer, 0, 255).astype(np.float32)
    disc = np.zeros((h, w), np.float32)
    cv2.ellipse(disc, (w // 2, h // 2), (max(1, int(0.48 * w)), max(1, int(0.49 * h))), 0, 0, 360, 1.0, -1)
    oval = cv2.GaussianBlur(disc, (0, 0), sigmaX=max(1.0, 0.04 * w))
    region = canvas[top : top + h, fx1 : fx1 + w]
    canvas[top : top + h, fx1 : fx1 + w] = region * (1 - oval[..., None]) + crop.astype(np.float32) * oval[..., None]
    alpha = cv2.GaussianBlur(body, (0, 0), sigmaX=max(1.0, 0.03 * w))
    alpha[top : top + h, fx1 : fx1 + w] = np.maximum(alpha[top : top + h, fx1 : fx1 + w], oval)
    return Cutout(canvas.astype(np.uint8), _edge_fade(alpha, face), face)


def on_plain(cut: Cutout, grey: int = 127) -> tuple[np.ndarray, int]:
    """The cut-out at its source size on a plain grey margin, as the analyzer is shown it; and the margin."""
    rows, cols = cut.alpha.shape
    margin = round(0.3 * max(rows, cols))
    canvas = np.full((rows + 2 * margin, cols + 2 * margin, 3), grey, np.float32)
    a = cut.alpha[..., None]
    region = canvas[margin : margin + rows, margin : margin + cols]
    canvas[margin : margin + rows, margin : margin + cols] = region * (1 - a) + cut.image.astype(np.float32) * a
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8), margin
