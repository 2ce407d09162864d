"""`maskwatch bench`: single-core speed of the classifier and of whole-frame detection."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import cv2
import numpy as np

from maskwatch.config import AnalyzerConfig
from maskwatch.inference.analyzer import FaceAnalyzer
from maskwatch.inference.classifier import MaskClassifier, classifier_path


def _time_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: allocation, first-call costs
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def bench_classifier(classifier: MaskClassifier, batch: int, repeats: int = 20) -> float:
    """Median ms per face when classifying `batch` faces per call."""
    rng = np.random.default_rng(0)
    s = classifier.input_size
    crops = rng.integers(0, 255, (batch, s, s, 3), dtype=np.uint8)
    return _time_ms(lambda: classifier.predict(crops), repeats) / batch


def bench_frame(analyzer: FaceAnalyzer, frame: np.ndarray, repeats: int = 10) -> float:
    """Median ms for detect + classify on one frame."""
    return _time_ms(lambda: analyzer.analyze(frame), repeats)


def run_bench(config: AnalyzerConfig, frame: np.ndarray, detectors: dict[str, AnalyzerConfig | None]) -> list[str]:
    """Classifier speed by batch size (`config`'s model), then detect + classify per frame for each
    named detector configuration (None: skipped, no model file)."""
    cv2.setNumThreads(1)
    lines = []
    classifier = MaskClassifier(classifier_path(config.classifier), batch_size=64, threads=1)
    for batch in (1, 8, 32, 64):
        lines.append(f"classifier  batch {batch:>3}: {bench_classifier(classifier, batch):6.3f} ms/face")
    h, w = frame.shape[:2]
    width = max(map(len, detectors))
    for name, cfg in detectors.items():
        if cfg is None:
            lines.append(f"detect {w}x{h} {name}: skipped (no model file)")
            continue
        analyzer = FaceAnalyzer(cfg)
        faces = len(analyzer.analyze(frame))
        lines.append(f"detect {w}x{h} {name:<{width}}: {bench_frame(analyzer, frame):6.1f} ms/frame ({faces} faces)")
    return lines
