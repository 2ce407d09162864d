"""PASCAL VOC annotation reading, with errors that name the file and the missing field."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from maskwatch.errors import MaskwatchError
from maskwatch.labels import canonical_label


class VocError(MaskwatchError, ValueError):
    """A VOC annotation file is malformed."""


@dataclass(frozen=True)
class VocObject:
    label: str  # canonical maskwatch label
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
    difficult: bool


@dataclass(frozen=True)
class VocImage:
    stem: str
    image_path: Path
    width: int
    height: int
    objects: tuple[VocObject, ...]


def _text(node: ET.Element, tag: str, xml_path: Path) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise VocError(f"{xml_path}: <{node.tag}> has no <{tag}>")
    return child.text.strip()


def _number(node: ET.Element, tag: str, xml_path: Path) -> float:
    raw = _text(node, tag, xml_path)
    try:
        return float(raw)
    except ValueError:
        raise VocError(f"{xml_path}: <{tag}> is not a number: {raw!r}") from None


def read_annotation(xml_path: Path, images_dir: Path) -> VocImage:
    """Parse one VOC XML file; labels are mapped onto the maskwatch classes."""
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as exc:
        raise VocError(f"{xml_path}: not valid XML ({exc})") from None
    filename = root.findtext("filename") or f"{xml_path.stem}.jpg"
    image_path = images_dir / filename.strip()
    if not image_path.exists():
        candidates = sorted(images_dir.glob(f"{xml_path.stem}.*"))
        if not candidates:
            raise VocError(f"{xml_path}: image {image_path} does not exist")
        image_path = candidates[0]
    size = root.find("size")
    width = height = 0
    if size is not None:
        width = int(_number(size, "width", xml_path))
        height = int(_number(size, "height", xml_path))
    objects = []
    for obj in root.findall("object"):
        label = canonical_label(_text(obj, "name", xml_path))
        bnd = obj.find("bndbox")
        if bnd is None:
            raise VocError(f"{xml_path}: <object> has no <bndbox>")
        x1, y1, x2, y2 = (_number(bnd, t, xml_path) for t in ("xmin", "ymin", "xmax", "ymax"))
        if x2 <= x1 or y2 <= y1:
            raise VocError(f"{xml_path}: empty box {x1, y1, x2, y2}")
        difficult = (obj.findtext("difficult") or "0").strip() == "1"
        objects.append(VocObject(label=label, box=(x1, y1, x2, y2), difficult=difficult))
    return VocImage(xml_path.stem, image_path, width, height, tuple(objects))


def read_split(split_file: Path) -> list[str]:
    """Read a VOC split file: one image stem per line."""
    if not split_file.is_file():
        raise VocError(f"split file {split_file} does not exist")
    return [line.split()[0] for line in split_file.read_text().splitlines() if line.strip()]


def read_dataset(root: Path, stems: Iterable[str] | None = None) -> list[VocImage]:
    """Read a VOC data set laid out as `root/annotations/*.xml` and `root/images/`.

    `Annotations/` and `JPEGImages/` (the original VOC names) are accepted too.
    """
    ann_dir = next((root / d for d in ("annotations", "Annotations") if (root / d).is_dir()), None)
    img_dir = next((root / d for d in ("images", "JPEGImages") if (root / d).is_dir()), None)
    if ann_dir is None or img_dir is None:
        raise VocError(f"{root}: expected annotations/ and images/ folders")
    if stems is None:
        xml_files = sorted(ann_dir.glob("*.xml"))
    else:
        xml_files = [ann_dir / f"{s}.xml" for s in stems]
        missing = [p for p in xml_files if not p.exists()]
        if missing:
            raise VocError(f"{len(missing)} annotation(s) listed in the split are missing, e.g. {missing[0]}")
    if not xml_files:
        raise VocError(f"{ann_dir}: no annotation files")
    return [read_annotation(p, img_dir) for p in xml_files]
