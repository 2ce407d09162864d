"""How much of a picture the detector has to search to find the faces a camera's areas count."""

from __future__ import annotations

import math

from maskwatch.areas import CameraAreas

#: How far the detector looks beyond the watch areas, as a fraction of the picture's long side: a
#: face centred on an area's edge lies half outside it (up to 256 px wide faces in a 1280 px frame).
SEARCH_MARGIN = 0.1
#: YuNet pads its input to multiples of 32 px anyway; regions of such sizes also let it reuse its buffers.
ALIGN = 32
#: A region this close to the whole picture saves nothing worth its edges.
WHOLE_FRAME = 0.9

Region = tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels


def _span(lo: float, hi: float, size: int) -> tuple[int, int]:
    """[lo, hi) grown to a multiple of ALIGN where the picture allows it."""
    a, b = max(0, math.floor(lo)), min(size, math.ceil(hi))
    want = min(size, -(-(b - a) // ALIGN) * ALIGN)
    a = max(0, min(a, size - want))
    return a, a + want


def search_region(areas: CameraAreas, width: int, height: int) -> Region | None:
    """The part of a width x height picture the detector must see to find every face the camera's
    areas count, or None for all of it."""
    if not areas.watch:
        return None
    margin = SEARCH_MARGIN * max(width, height)
    bounds = [a.bounds for a in areas.watch]
    left, right = min(b[0] for b in bounds) * width, max(b[2] for b in bounds) * width
    top, bottom = min(b[1] for b in bounds) * height, max(b[3] for b in bounds) * height
    x1, x2 = _span(left - margin, right + margin, width)
    y1, y2 = _span(top - margin, bottom + margin, height)
    if (x2 - x1) * (y2 - y1) >= WHOLE_FRAME * width * height:
        return None
    return x1, y1, x2, y2
