"""Looking at pictures the way the blur tests must: decoding one, and measuring fine detail."""

from __future__ import annotations

import cv2
import numpy as np


def decoded(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def detail(image: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """How much fine detail a region holds (variance of its Laplacian): near zero once blurred."""
    x1, y1, x2, y2 = (round(c) for c in box)
    grey = cv2.cvtColor(image[y1 + 10 : y2 - 10, x1 + 10 : x2 - 10], cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())
