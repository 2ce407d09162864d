"""`maskwatch detect`: images or folders in, JSON and annotated copies out."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
from tqdm import tqdm

from maskwatch.annotate import draw_faces
from maskwatch.images import ImageError, expand_paths, read_bgr
from maskwatch.inference.analyzer import FaceAnalyzer

log = logging.getLogger(__name__)


@dataclass
class DetectReport:
    results: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


def _key(path: Path, taken: dict[str, list[dict[str, object]]]) -> str:
    """The file stem, made unique with its parent folder when two inputs share a stem."""
    if path.stem not in taken:
        return path.stem
    key = f"{path.parent.name}/{path.stem}"
    log.warning("two inputs share the stem %r; %s is keyed %r", path.stem, path, key)
    return key


def detect_images(
    analyzer: FaceAnalyzer, paths: Sequence[Path], json_out: Path | None = None, annotate_dir: Path | None = None
) -> DetectReport:
    """Run the analyzer over every image; unreadable files are reported and skipped, never fatal."""
    report = DetectReport()
    files: list[Path] = []
    for path in paths:
        try:
            files.extend(expand_paths([path]))
        except ImageError as exc:
            log.error("%s", exc)
            report.failed.append(str(path))
    if annotate_dir is not None:
        annotate_dir.mkdir(parents=True, exist_ok=True)
    for path in tqdm(files, desc="detect", unit="img", disable=len(files) < 2):
        try:
            image = read_bgr(path)
        except ImageError as exc:
            log.error("%s", exc)
            report.failed.append(str(path))
            continue
        faces = analyzer.analyze(image)
        key = _key(path, report.results)
        report.results[key] = [f.to_json() for f in faces]
        if annotate_dir is not None:
            cv2.imwrite(str(annotate_dir / f"{key.replace('/', '_')}.jpg"), draw_faces(image, faces))
        summary = ", ".join(f"{f.label} {f.score:.2f}" for f in faces) or "no faces"
        tqdm.write(f"{path}: {summary}")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report.results, indent=1) + "\n")
    if report.failed:
        log.error(
            "%d of %d input(s) failed: %s", len(report.failed), len(files) or len(paths), ", ".join(report.failed)
        )
    return report
