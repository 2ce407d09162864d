"""A person's look around their face, for telling people apart at the same spot.

The tracker needs to know whether a face is the person it saw there a moment ago or the next
person in the queue. Two colour histograms do that cheaply and survive a mask going on or
coming off: one of the head above the mask line (hair, forehead, eyes) and one of the clothing
under the chin. Both keep to the person's own width: a wider margin takes in the background,
which makes two people at the same spot look alike and one walking person look unlike
themselves (measured with `python -m devtools.looks_check`). Each is an HSV histogram of a 16x16 thumbnail,
stored as its square root so that the dot product of two is their Bhattacharyya coefficient.
A region outside the picture (a face at the bottom edge has no clothing in view) is all zeros
and is left out of the comparison.

Inference computes the embedding while it still has the frame; the tracker compares them.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

Box = tuple[float, float, float, float]

_BINS = (6, 3, 3)  # hue, saturation, value
_REGION_DIMS = _BINS[0] * _BINS[1] * _BINS[2]
#: Regions as (left, top, right, bottom) in face widths and heights from the face box's top
#: left corner: the head above the mask line, and the chest below the chin.
_REGIONS: tuple[tuple[float, float, float, float], ...] = (
    (0.2, -0.1, 0.8, 0.4),
    (-0.1, 1.3, 1.1, 2.0),
)
EMBEDDING_DIMS = _REGION_DIMS * len(_REGIONS)
_THUMB = 16
_MIN_PIXELS = 16  # a region with fewer pixels in the picture says nothing


def _region(box: Box, spec: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    left, top, right, bottom = spec
    rx1, ry1 = max(int(x1 + left * w), 0), max(int(y1 + top * h), 0)
    rx2, ry2 = min(int(x1 + right * w), width), min(int(y1 + bottom * h), height)
    return rx1, ry1, rx2, ry2


def _histogram(image_bgr: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    x1, y1, x2, y2 = region
    if (x2 - x1) * (y2 - y1) < _MIN_PIXELS:
        return np.zeros(_REGION_DIMS, np.float32)
    thumb = cv2.resize(image_bgr[y1:y2, x1:x2], (_THUMB, _THUMB), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(thumb, cv2.COLOR_BGR2HSV)
    hist: np.ndarray = cv2.calcHist([hsv], [0, 1, 2], None, list(_BINS), [0, 180, 0, 256, 0, 256]).ravel()
    return np.sqrt(hist / max(float(hist.sum()), 1.0)).astype(np.float32)


def embed(image_bgr: np.ndarray, box: Box) -> np.ndarray:
    """The appearance embedding of the face at `box` (x1, y1, x2, y2 pixels) in `image_bgr`."""
    height, width = image_bgr.shape[:2]
    return np.concatenate([_histogram(image_bgr, _region(box, spec, width, height)) for spec in _REGIONS])


def distance(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float | None:
    """0 for the same look, 1 for nothing in common; None when the two share no region."""
    va = np.asarray(a, dtype=np.float32).reshape(len(_REGIONS), _REGION_DIMS)
    vb = np.asarray(b, dtype=np.float32).reshape(len(_REGIONS), _REGION_DIMS)
    both = (va.any(axis=1)) & (vb.any(axis=1))
    if not both.any():
        return None
    similarity = (va[both] * vb[both]).sum(axis=1)
    return float(1.0 - similarity.mean())


def valid(embedding: Sequence[float]) -> bool:
    return len(embedding) == EMBEDDING_DIMS
