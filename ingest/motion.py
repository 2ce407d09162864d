"""Motion gating: a sampled frame goes to inference only if enough of the picture changed."""

from __future__ import annotations

import av
import cv2
import numpy as np

from maskwatch.areas import CameraAreas
from maskwatch.config import MotionConfig


class MotionGate:
    """Passes a frame when enough of a small grey copy changed since the last frame passed, or
    when `keepalive_s` has gone by (so a person standing still stays tracked). With `areas`, only
    changes in the part of the picture they count are seen (a screen in an ignore area moves all day)."""

    WIDTH = 160

    def __init__(self, cfg: MotionConfig, areas: CameraAreas | None = None) -> None:
        self.cfg = cfg
        self.areas = areas
        self._mask: np.ndarray | None = None
        self._mask_pixels = 1
        self._last: np.ndarray | None = None
        self._last_t = -1e9

    def _changed(self, grey: np.ndarray, last: np.ndarray) -> float:
        moved = cv2.absdiff(grey, last) > self.cfg.pixel_threshold
        if self.areas is None:
            return int(np.count_nonzero(moved)) / grey.size
        if self._mask is None or self._mask.shape != grey.shape:
            self._mask = self.areas.mask(grey.shape[1], grey.shape[0])
            self._mask_pixels = max(int(np.count_nonzero(self._mask)), 1)
        return int(np.count_nonzero(moved & self._mask)) / self._mask_pixels

    def passes(self, frame: av.VideoFrame, t: float) -> bool:
        height = max(2, round(frame.height * self.WIDTH / max(frame.width, 1)))
        # swscale to 160 px grey costs a fraction of the full BGR conversion a passed frame needs.
        grey = frame.reformat(width=self.WIDTH, height=height, format="gray").to_ndarray()
        last = self._last
        if (
            last is not None
            and last.shape == grey.shape
            and t - self._last_t < self.cfg.keepalive_s
            and self._changed(grey, last) < self.cfg.min_changed
        ):
            return False
        self._last, self._last_t = grey, t
        return True
