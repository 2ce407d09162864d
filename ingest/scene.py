"""Telling a cut between scenes from movement in one scene, on the frames a camera samples.

A camera that switches views (a multiplexer, a PTZ camera going to another preset, an edited
recording) shows new people at the places the last ones stood. The tracker must not take them for
each other, so ingest marks the first frame of a new picture. Movement changes a part of the
picture; a cut changes nearly all of it.
"""

from __future__ import annotations

import cv2
import numpy as np

_THUMB = (64, 36)
#: A thumbnail pixel whose grey level moved this much has changed...
PIXEL_CHANGE = 20
#: ...and a frame where this share of them did is another picture (measured: 0.77 to 0.88 at cuts;
#: at most 0.36 between samples a second apart of people walking close to the camera).
CUT_SHARE = 0.6


class SceneCuts:
    """Remembers a camera's last sampled frame, as a small grey thumbnail."""

    def __init__(self) -> None:
        self._last: np.ndarray | None = None

    def is_cut(self, image_bgr: np.ndarray) -> bool:
        grey = cv2.cvtColor(cv2.resize(image_bgr, _THUMB, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
        last, self._last = self._last, grey
        if last is None:
            return False
        changed = np.count_nonzero(cv2.absdiff(grey, last) > PIXEL_CHANGE)
        return bool(changed >= CUT_SHARE * grey.size)
