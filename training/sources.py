"""Readers that turn labelled data sets into classifier face crops.

Every crop goes through `maskwatch.inference.crops.crop_face`, so training sees what inference sees.
Each crop carries a group id (its source image): the train/validation split is by group, so
faces from one photo never sit on both sides.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from maskwatch.errors import MaskwatchError
from maskwatch.images import ImageError, expand_paths, read_bgr
from maskwatch.inference.crops import crop_face
from maskwatch.inference.detector import FaceDetector
from maskwatch.inference.metrics import match_greedy
from maskwatch.labels import CLASSES, canonical_label
from maskwatch.training.config import SourceConfig, TrainConfig
from maskwatch.voc import read_dataset, read_split

log = logging.getLogger(__name__)


class DataError(MaskwatchError, ValueError):
    """A training source is missing, empty or malformed."""


@dataclass
class CropSet:
    images: list[np.ndarray] = field(default_factory=list)  # RGB uint8, size x size
    labels: list[int] = field(default_factory=list)  # index into CLASSES
    groups: list[str] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)  # "source:kind" for the model card

    def add(self, crop: np.ndarray, label: str, group: str, origin: str) -> None:
        self.images.append(crop)
        self.labels.append(CLASSES.index(label))
        self.groups.append(group)
        self.origins.append(origin)

    def __len__(self) -> int:
        return len(self.labels)


def _limit(items: list, limit: int | None) -> list:
    return items if limit is None else items[:limit]


def _readable_images(files: list[Path], desc: str) -> Iterator[tuple[Path, np.ndarray]]:
    """Each file that decodes as an image, with a progress bar; the others are reported and skipped."""
    for path in tqdm(files, desc=desc, unit="img", leave=False):
        try:
            yield path, read_bgr(path)
        except ImageError as exc:
            log.warning("skipping training image: %s", exc)


def read_folders(src: SourceConfig, size: int, out: CropSet) -> None:
    """Folder-per-class face crops: each image is one face, padded to a square."""
    if not src.path.is_dir():
        raise DataError(f"{src.path}: no such folder")
    class_dirs = sorted(d for d in src.path.iterdir() if d.is_dir())
    if not class_dirs:
        raise DataError(f"{src.path}: expected one sub-folder per class, found none")
    for class_dir in class_dirs:
        label = canonical_label(class_dir.name)
        files = _limit(expand_paths([class_dir]), src.limit)
        for path, image in _readable_images(files, f"crops {class_dir.name}"):
            h, w = image.shape[:2]
            out.add(crop_face(image, (0, 0, w, h), size, margin=0.0), label, str(path), f"{src.path.name}:crops")


def read_voc(src: SourceConfig, size: int, detector: FaceDetector, min_face_px: int, out: CropSet) -> None:
    """VOC scenes: a crop from each ground-truth box, plus one from each detector box matched to it."""
    stems = read_split(src.split) if src.split else None
    items = _limit(read_dataset(src.path, stems), src.limit)
    for item in tqdm(items, desc=f"scenes {src.path.name}", unit="img", leave=False):
        image = read_bgr(item.image_path)
        objects = [o for o in item.objects if o.box[3] - o.box[1] >= min_face_px]
        for obj in objects:
            out.add(crop_face(image, obj.box, size), obj.label, item.stem, f"{src.path.name}:gt")
        if not objects:
            continue
        gt = np.array([o.box for o in objects])
        found = detector.detect(image)
        if not found:
            continue
        boxes = np.array([d.box for d in found])
        matches = match_greedy(boxes, np.array([d.score for d in found]), gt, 0.5)
        for det, m in zip(found, matches, strict=True):
            if m >= 0:
                out.add(crop_face(image, det.box, size), objects[m].label, item.stem, f"{src.path.name}:detector")


def read_photos(src: SourceConfig, size: int, detector: FaceDetector, out: CropSet) -> None:
    """Photos that all show one class: the most confident detected face of each photo."""
    if src.label is None:
        raise DataError(f"{src.path}: a 'photos' source needs 'label'")
    label = canonical_label(src.label)
    files = _limit(expand_paths([src.path]), src.limit)
    kept = 0
    for path, image in _readable_images(files, f"photos {src.path.name}"):
        found = detector.detect(image)
        if found:
            best = max(found, key=lambda d: d.score)
            out.add(crop_face(image, best.box, size), label, str(path), f"{src.path.name}:detector")
            kept += 1
    log.info("photos source %s: faces found in %d of %d photos", src.path, kept, len(files))


def load_sources(config: TrainConfig) -> CropSet:
    detector: FaceDetector | None = None
    out = CropSet()
    for src in config.sources:
        before = len(out)
        if src.kind == "folders":
            read_folders(src, config.input_size, out)
        elif src.kind == "synthetic":
            read_synthetic(src, config.input_size, config.seed, out)
        else:
            detector = detector or FaceDetector(config.detector)
            if src.kind == "voc":
                read_voc(src, config.input_size, detector, config.min_face_px, out)
            else:
                read_photos(src, config.input_size, detector, out)
        if len(out) == before:
            raise DataError(f"{src.path}: source gave no faces")
        log.info("source %s (%s): %d crops", src.path, src.kind, len(out) - before)
    return out


def read_synthetic(src: SourceConfig, size: int, seed: int, out: CropSet) -> None:
    """Unmasked faces, each twice: with a mask painted over the nose (`with_mask`) and below the
    nose or on the chin (`mask_incorrect`). Cropped as a `folders` source crops its images."""
    from maskwatch.training.synthetic_masks import LABEL_OF, LandmarkFinder, Placement, paint_mask

    if not src.path.is_dir():
        raise DataError(f"{src.path}: no such folder")
    finder = LandmarkFinder()
    rng = np.random.default_rng(seed)
    files = _limit(expand_paths([src.path]), src.limit)
    kept = 0
    for path, image in _readable_images(files, f"masks on {src.path.name}"):
        found = finder(image)
        h, w = image.shape[:2]
        if found is None or found[0][3] - found[0][1] < 0.4 * h:  # not this crop's own face
            continue
        landmarks = found[1]
        wrong: Placement = "under_nose" if rng.random() < 0.7 else "on_chin"
        for placement in ("over_nose", wrong):
            painted = paint_mask(image, landmarks, placement, rng)
            out.add(
                crop_face(painted, (0, 0, w, h), size, margin=0.0),
                LABEL_OF[placement],
                str(path),
                f"{src.path.name}:painted",
            )
        kept += 1
    log.info("synthetic source %s: masks painted on %d of %d faces", src.path, kept, len(files))
