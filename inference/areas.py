"""A camera's watch and ignore areas: which faces count, and how much of the picture the
detector has to look at to find them."""

from __future__ import annotations

import math
from dataclasses import dataclass

from maskwatch.config import AreaConfig, CameraConfig

#: How far the detector looks beyond the watch areas, as a fraction of the picture's long side: a
#: face centred on an area's edge lies half outside it (up to 256 px wide faces in a 1280 px frame).
SEARCH_MARGIN = 0.1
#: YuNet pads its input to multiples of 32 px anyway; regions of such sizes also let it reuse its buffers.
ALIGN = 32
#: A region this close to the whole picture saves nothing worth its edges.
WHOLE_FRAME = 0.9

Region = tuple[int, int, int, int]  # x1, y1, x2, y2 in pixels


def _inside(cx: float, cy: float, area: AreaConfig, width: int, height: int) -> bool:
    return area.x1 * width <= cx <= area.x2 * width and area.y1 * height <= cy <= area.y2 * height


def _span(lo: float, hi: float, size: int) -> tuple[int, int]:
    """[lo, hi) grown to a multiple of ALIGN where the picture allows it."""
    a, b = max(0, math.floor(lo)), min(size, math.ceil(hi))
    want = min(size, -(-(b - a) // ALIGN) * ALIGN)
    a = max(0, min(a, size - want))
    return a, a + want


@dataclass(frozen=True)
class CameraAreas:
    watch: tuple[AreaConfig, ...] = ()
    ignore: tuple[AreaConfig, ...] = ()

    @classmethod
    def of(cls, camera: CameraConfig) -> CameraAreas | None:
        """The camera's areas, or None when it watches the whole picture."""
        if not camera.watch_areas and not camera.ignore_areas:
            return None
        return cls(tuple(camera.watch_areas), tuple(camera.ignore_areas))

    def search_region(self, width: int, height: int) -> Region | None:
        """The part of a width x height picture the detector must see, or None for all of it."""
        if not self.watch:
            return None
        margin = SEARCH_MARGIN * max(width, height)
        left, right = min(a.x1 for a in self.watch) * width, max(a.x2 for a in self.watch) * width
        top, bottom = min(a.y1 for a in self.watch) * height, max(a.y2 for a in self.watch) * height
        x1, x2 = _span(left - margin, right + margin, width)
        y1, y2 = _span(top - margin, bottom + margin, height)
        if (x2 - x1) * (y2 - y1) >= WHOLE_FRAME * width * height:
            return None
        return x1, y1, x2, y2

    def counts(self, box: tuple[float, float, float, float], width: int, height: int) -> bool:
        """Whether a face with this box (pixels) is one the camera watches."""
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        if self.watch and not any(_inside(cx, cy, a, width, height) for a in self.watch):
            return False
        return not any(_inside(cx, cy, a, width, height) for a in self.ignore)
