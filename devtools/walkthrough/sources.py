"""Where the people and backgrounds come from: the three face sources and the ILC scenes in ../shared."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from maskwatch.labels import WITH_MASK, WITHOUT_MASK
from maskwatch.voc import VocImage, read_dataset, read_split

Box = tuple[float, float, float, float]

ILC = "ilc"
CDEB = "chandrikadeb7"
RMFD = "rmfd"
ILC_DIR = Path("datasets/scenes-ilc2021")
CDEB_DIR = Path("datasets/face-crops-chandrikadeb7")
RMFD_DIR = Path("datasets/masked-people-rmfd")
YUNET = Path("weights/face_detection_yunet_2023mar.onnx")
# Faces smaller than this in the photo would be upscaled into mush at the larger clip sizes.
MIN_FACE = 48
FRAME = (1280, 720)


@dataclass(frozen=True)
class Candidate:
    """A source face not yet screened: one candidate is one identity."""

    key: str  # "ilc:<stem>#<i>", "chandrikadeb7:<label>/<file>" or "rmfd:<file>"
    source: str
    path: Path  # relative to ../shared
    label: str
    box: Box | None = None  # the annotated face (ILC only; others are found by the detector)
    others: tuple[Box, ...] = ()  # the photo's other annotated faces


def ilc_train(shared: Path) -> list[VocImage]:
    """The ILC train split only: the test split is for reporting, never for making data."""
    root = shared / ILC_DIR
    return read_dataset(root, read_split(root / "train.txt"))


def ilc_candidates(shared: Path, items: list[VocImage]) -> list[Candidate]:
    found = []
    for item in items:
        boxes = [o.box for o in item.objects]
        for i, obj in enumerate(item.objects):
            if obj.box[3] - obj.box[1] < MIN_FACE:
                continue
            others = tuple(b for j, b in enumerate(boxes) if j != i)
            path = item.image_path.relative_to(shared)
            found.append(Candidate(f"{ILC}:{item.stem}#{i}", ILC, path, obj.label, obj.box, others))
    return found


def cdeb_candidates(shared: Path) -> list[Candidate]:
    found = []
    for label in (WITH_MASK, WITHOUT_MASK):
        for path in sorted((shared / CDEB_DIR / label).iterdir()):
            found.append(Candidate(f"{CDEB}:{label}/{path.name}", CDEB, path.relative_to(shared), label))
    return found


def rmfd_candidates(shared: Path) -> list[Candidate]:
    # Every face in this set wears a mask (README of ../shared); the detector finds where.
    return [
        Candidate(f"{RMFD}:{p.name}", RMFD, p.relative_to(shared), WITH_MASK)
        for p in sorted((shared / RMFD_DIR).iterdir())
    ]


def background_candidates(items: list[VocImage]) -> list[VocImage]:
    """Wide photos whose faces are small: removing a big face leaves a smear where a head was."""
    out = []
    for item in items:
        if item.width < 1.3 * item.height or len(item.objects) > 12:
            continue
        if all(o.box[3] - o.box[1] < 0.15 * item.height for o in item.objects):
            out.append(item)
    return out


def make_background(item: VocImage) -> np.ndarray:
    """The photo at 1280x720 with its annotated faces painted out and blurred (grown a third: hair, ears)."""
    image = cv2.imread(str(item.image_path))
    if image is None:
        raise OSError(f"cannot read {item.image_path}")
    mask = np.zeros(image.shape[:2], np.uint8)
    for x1, y1, x2, y2 in (o.box for o in item.objects):
        dx, dy = 0.35 * (x2 - x1), 0.35 * (y2 - y1)
        cv2.rectangle(mask, (int(x1 - dx), int(y1 - dy)), (int(x2 + dx), int(y2 + dy)), 255, -1)
    if mask.any():
        # Inpainting alone leaves star-shaped streaks over a head; blurred on top it reads as a
        # privacy-blurred head, as in real footage.
        size = max(o.box[3] - o.box[1] for o in item.objects)
        filled = cv2.inpaint(image, mask, 9, cv2.INPAINT_TELEA)
        soft = np.clip(1.5 * cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), 0.15 * size), 0, 1)[..., None]
        blurred = cv2.GaussianBlur(filled, (0, 0), 0.3 * size)
        image = np.clip(filled * (1 - soft) + blurred * soft + 0.5, 0, 255).astype(np.uint8)
    rows, cols = image.shape[:2]
    keep = round(cols * FRAME[1] / FRAME[0])  # rows of a 16:9 band
    if keep < rows:
        top = (rows - keep) // 2
        image = image[top : top + keep]
    else:
        keep_cols = round(rows * FRAME[0] / FRAME[1])
        left = (cols - keep_cols) // 2
        image = image[:, left : left + keep_cols]
    return cv2.resize(image, FRAME, interpolation=cv2.INTER_CUBIC)


def read_image(shared: Path, path: Path) -> np.ndarray:
    image = cv2.imread(str(shared / path))
    if image is None:
        raise OSError(f"cannot read {shared / path}")
    return image
