"""A camera's watch and ignore areas: which parts of its picture count. Ingest's motion gate and
inference's face filter both go by them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskwatch.config import AreaConfig, CameraConfig


def _inside(x: float, y: float, area: AreaConfig, width: int, height: int) -> bool:
    return area.x1 * width <= x <= area.x2 * width and area.y1 * height <= y <= area.y2 * height


def _paint(mask: np.ndarray, area: AreaConfig, value: bool) -> None:
    height, width = mask.shape
    x1, x2 = round(area.x1 * width), max(round(area.x2 * width), round(area.x1 * width) + 1)
    y1, y2 = round(area.y1 * height), max(round(area.y2 * height), round(area.y1 * height) + 1)
    mask[y1:y2, x1:x2] = value


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

    def counts(self, box: tuple[float, float, float, float], width: int, height: int) -> bool:
        """Whether a face with this box (pixels of a width x height picture) is one the camera watches."""
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        if self.watch and not any(_inside(cx, cy, a, width, height) for a in self.watch):
            return False
        return not any(_inside(cx, cy, a, width, height) for a in self.ignore)

    def mask(self, width: int, height: int) -> np.ndarray:
        """The pixels of a width x height picture that count (each area covers at least one)."""
        mask = np.full((height, width), not self.watch, dtype=bool)
        for area in self.watch:
            _paint(mask, area, True)
        for area in self.ignore:
            _paint(mask, area, False)
        return mask
