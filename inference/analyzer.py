"""Detector + classifier: frames in, labelled faces out. The one entry point other stages use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from maskwatch import appearance
from maskwatch.areas import CameraAreas
from maskwatch.config import AnalyzerConfig
from maskwatch.inference.areas import search_region
from maskwatch.inference.classifier import MaskClassifier, classifier_path
from maskwatch.inference.crops import crop_face
from maskwatch.inference.detector import Detection, FaceDetector
from maskwatch.labels import CLASSES, UNDETERMINED


@dataclass(frozen=True)
class FaceResult:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in original pixels
    label: str  # one of CLASSES, or UNDETERMINED for faces below the minimum size
    score: float  # face_score x probability of `label`; face_score alone for undetermined faces
    face_score: float
    probs: dict[str, float] = field(default_factory=dict)
    embedding: tuple[float, ...] = ()  # maskwatch.appearance: how the person looks, for tracking

    def to_json(self) -> dict[str, object]:
        return {
            "box": [round(v, 1) for v in self.box],
            "label": self.label,
            "score": round(self.score, 5),
            "face_score": round(self.face_score, 5),
            "probs": {k: round(v, 5) for k, v in self.probs.items()},
        }


class FaceAnalyzer:
    def __init__(self, config: AnalyzerConfig, detector: FaceDetector | None = None, embed: bool = True) -> None:
        """`embed`: describe how each person looks, for the tracker (off only to measure its cost)."""
        self.config = config
        self.embed = embed
        self.detector = detector or FaceDetector(config.detector)
        c = config.classifier
        self.classifier = MaskClassifier(classifier_path(c), batch_size=c.batch_size, threads=c.threads)

    def analyze(self, image_bgr: np.ndarray) -> list[FaceResult]:
        return self.analyze_batch([image_bgr])[0]

    def analyze_batch(
        self, images: Sequence[np.ndarray], areas: Sequence[CameraAreas | None] | None = None
    ) -> list[list[FaceResult]]:
        """Detect per image (only the faces its camera's `areas` count, when given), then
        classify every face of the batch in one classifier call."""
        min_size = self.config.detector.min_face_size
        detections = [
            self._detect(img, where) for img, where in zip(images, areas or [None] * len(images), strict=True)
        ]
        crops: list[np.ndarray] = []
        owners: list[tuple[int, int]] = []
        for i, (img, dets) in enumerate(zip(images, detections, strict=True)):
            for j, det in enumerate(dets):
                if det.box[3] - det.box[1] >= min_size:
                    crops.append(crop_face(img, det.box, self.classifier.input_size))
                    owners.append((i, j))
        probs = self.classifier.predict(np.stack(crops)) if crops else np.zeros((0, len(CLASSES)))
        by_face = {owner: p for owner, p in zip(owners, probs, strict=True)}
        return [
            [self._result(det, by_face.get((i, j)), self._look(img, det)) for j, det in enumerate(dets)]
            for i, (img, dets) in enumerate(zip(images, detections, strict=True))
        ]

    def _look(self, image: np.ndarray, det: Detection) -> tuple[float, ...]:
        return tuple(appearance.embed(image, det.box).tolist()) if self.embed else ()

    def _detect(self, image: np.ndarray, areas: CameraAreas | None) -> list[Detection]:
        if areas is None:
            return self.detector.detect(image)
        h, w = image.shape[:2]
        found = self.detector.detect(image, search_region(areas, w, h))
        return [d for d in found if areas.counts(d.box, w, h)]

    @staticmethod
    def _result(det: Detection, probs: np.ndarray | None, look: tuple[float, ...]) -> FaceResult:
        if probs is None:
            return FaceResult(det.box, UNDETERMINED, det.score, det.score, embedding=look)
        k = int(np.argmax(probs))
        return FaceResult(
            box=det.box,
            label=CLASSES[k],
            score=det.score * float(probs[k]),
            face_score=det.score,
            probs={name: float(p) for name, p in zip(CLASSES, probs, strict=True)},
            embedding=look,
        )
