"""The checks a cut-out or background must pass, made with the project's shipped analyzer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from devtools.demo_media import draw_mask
from devtools.walkthrough.cutouts import Box, Cutout, face_with_torso, head_and_shoulders, on_plain
from devtools.walkthrough.sources import CDEB, MIN_FACE, RMFD, YUNET, Candidate, read_image
from maskwatch.boxes import iou_matrix

MATCH_IOU = 0.3
BACKGROUND_MAX_SCORE = 0.5
DETECTOR = f"yunet ({YUNET.name}), the other analyzer settings at their defaults; backgrounds also the default detector"


@dataclass(frozen=True)
class Verdict:
    kept: bool
    why: str  # "kept", or the reason for rejecting
    found: Box | None = None  # the analyzer's box of the face, in cut-out pixels


def iou(a: Box, b: Box) -> float:
    return float(iou_matrix(np.array([a]), np.array([b]))[0, 0])


def cutout_for(source: str, image: np.ndarray, box: Box | None, others: tuple[Box, ...], key: str) -> Cutout | str:
    """The cut-out of a candidate (also how a cached one is rebuilt: same input, same pixels)."""
    if source == CDEB:
        return face_with_torso(image, key)
    assert box is not None
    return head_and_shoulders(image, box, others)


def xywh(box: Box) -> tuple[int, int, int, int]:
    return round(box[0]), round(box[1]), round(box[2] - box[0]), round(box[3] - box[1])


class Screener:
    """Runs the analyzer (built on first use: a cached build never needs it)."""

    def __init__(self, shared: Path) -> None:
        self.shared = shared
        self._analyzer: Any = None
        self._default_detector: Any = None

    @property
    def analyzer(self) -> Any:
        if self._analyzer is None:
            from maskwatch.config import DetectorConfig, Settings
            from maskwatch.inference.analyzer import FaceAnalyzer

            defaults = Settings().analyzer
            detector = DetectorConfig(backend="yunet", model_path=self.shared / YUNET)
            self._analyzer = FaceAnalyzer(defaults.model_copy(update={"detector": detector}))
        return self._analyzer

    def judge(self, cut: Cutout, label: str) -> Verdict:
        """Shown the cut-out alone, the analyzer must find one face, on the box, with the truth label."""
        probe, margin = on_plain(cut)
        faces = self.analyzer.analyze(probe)
        if not faces:
            return Verdict(False, "no face found")
        if len(faces) > 1:
            return Verdict(False, "more than one face found")
        x1, y1, x2, y2 = (v - margin for v in faces[0].box)
        if iou((x1, y1, x2, y2), cut.face) < MATCH_IOU:
            return Verdict(False, "face found off the box")
        if self._stray_face(probe, faces[0].box):
            return Verdict(False, "another face-like patch in the cut")
        if faces[0].label != label:
            return Verdict(False, f"labelled {faces[0].label}")
        return Verdict(True, "kept", (x1, y1, x2, y2))

    def _stray_face(self, probe: np.ndarray, face: Box) -> bool:
        """Whether the product's default detector, at a low threshold, finds anything but the face:
        a fragment of a neighbour in the cut would be a person the truth does not list."""
        found = [d.box for d in self.default_detector.detect(probe, low_threshold=True)]
        return any(iou(box, face) < MATCH_IOU for box in found)

    def person(self, cand: Candidate) -> tuple[dict[str, Any], Cutout | None]:
        """Screen one candidate: its cache entry, and the cut-out when kept."""
        entry: dict[str, Any] = {"key": cand.key, "source": cand.source, "path": str(cand.path), "label": cand.label}
        image = read_image(self.shared, cand.path)
        box, others = cand.box, cand.others
        if cand.source == RMFD:
            box, others, why = self._rmfd_face(image)
            if box is None:
                return {**entry, "kept": False, "why": why}, None
        cut = cutout_for(cand.source, image, box, others, cand.key)
        if isinstance(cut, str):
            return {**entry, "kept": False, "why": cut}, None
        verdict = self.judge(cut, cand.label)
        if not verdict.kept or verdict.found is None:
            return {**entry, "kept": False, "why": verdict.why}, None
        if cand.source == CDEB:
            # A tight crop's edges are not where a detector puts the face: the truth is its box.
            cut = Cutout(cut.image, cut.alpha, verdict.found)
        entry.update(kept=True, why="kept", face=[round(float(v), 1) for v in cut.face])
        entry.update(found=[round(float(v), 1) for v in verdict.found], drawn={})
        if box is not None:
            entry["box"] = [round(float(v), 1) for v in box]
        return entry, cut

    def _rmfd_face(self, image: np.ndarray) -> tuple[Box | None, tuple[Box, ...], str]:
        faces = [f.box for f in self.analyzer.analyze(image) if f.face_score >= BACKGROUND_MAX_SCORE]
        big = [b for b in faces if b[3] - b[1] >= MIN_FACE]
        if not big:
            return None, (), f"no face >= {MIN_FACE} px found"
        best = max(big, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        return best, tuple(b for b in faces if b != best), "found"

    def drawn(self, cut: Cutout, found: Box, label: str) -> bool:
        """Does the analyzer read a drawn `label` mask on this unmasked cut-out as `label`?"""
        masked = Cutout(draw_mask(cut.image, xywh(found), label), cut.alpha, cut.face)
        return self.judge(masked, label).kept

    @property
    def default_detector(self) -> Any:
        """The product's default detector: a clip is played with it, so a background must hold no
        face it finds either (it finds blurred heads that YuNet does not)."""
        if self._default_detector is None:
            self._default_detector = _DefaultDetector()
        return self._default_detector

    def background_score(self, background: np.ndarray) -> float:
        """The best face score either detector still finds on a background (0 when none)."""
        found = [*self.analyzer.detector.detect(background), *self.default_detector.detect(background)]
        return max((d.score for d in found), default=0.0)


class _DefaultDetector:
    """The product's default detector, at its own threshold and at a low one (0.3)."""

    def __init__(self) -> None:
        from maskwatch.config import Settings
        from maskwatch.inference.detector import FaceDetector

        config = Settings().analyzer.detector
        self.normal = FaceDetector(config)
        self.low = FaceDetector(config.model_copy(update={"score_threshold": 0.3}))

    def detect(self, image: np.ndarray, low_threshold: bool = False) -> list[Any]:
        return (self.low if low_threshold else self.normal).detect(image)
