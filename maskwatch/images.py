"""Image file discovery and decoding with precise errors."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from maskwatch.errors import MaskwatchError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


class ImageError(MaskwatchError, ValueError):
    """An image file is missing, unreadable or not an image."""


def read_bgr(path: Path) -> np.ndarray:
    """Decode an image file to a BGR uint8 array."""
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ImageError(f"{path}: not a decodable image ({data.size} bytes)")
    return image


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into the image files they contain (recursively, sorted)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise ImageError(f"{path}: folder contains no images")
            out.extend(found)
        else:
            out.append(path)
    return out
