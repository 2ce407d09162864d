"""A camera's watch and ignore areas: which parts of its picture count. Ingest's motion gate and
inference's face filter both go by them."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from maskwatch.config import AreaConfig, CameraConfig


def outline_px(area: AreaConfig, width: int, height: int) -> np.ndarray:
    """The area's corners in pixels of a width x height picture, as OpenCV's int32 contour."""
    pts = [(min(round(x * width), width - 1), min(round(y * height), height - 1)) for x, y in area.corners]
    return np.array(pts, np.int32).reshape(-1, 1, 2)


def _inside(x: float, y: float, area: AreaConfig, width: int, height: int) -> bool:
    if area.is_rectangle:
        x1, y1, x2, y2 = area.bounds
        return x1 * width <= x <= x2 * width and y1 * height <= y <= y2 * height
    contour = np.array([(px * width, py * height) for px, py in area.corners], np.float32)
    return cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0  # 0: on the edge


def _paint(mask: np.ndarray, area: AreaConfig, value: bool) -> None:
    height, width = mask.shape
    if not area.is_rectangle:
        inside = np.zeros(mask.shape, np.uint8)
        cv2.fillPoly(inside, [outline_px(area, width, height)], 1)  # edges included: never empty
        mask[inside.astype(bool)] = value
        return
    bx1, by1, bx2, by2 = area.bounds
    x1, x2 = round(bx1 * width), max(round(bx2 * width), round(bx1 * width) + 1)
    y1, y2 = round(by1 * height), max(round(by2 * height), round(by1 * height) + 1)
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
