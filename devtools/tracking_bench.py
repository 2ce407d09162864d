"""What telling people apart costs: inference with and without appearance embeddings, back to back,
and how many cameras one core of the recorder keeps up with.

    python -m devtools.tracking_bench [--cameras 50] [--fps 2] [--seconds 30]

Inference: the demo scenes (3 to 5 faces each, 1280x720) analysed by the shipped detector and
classifier, with and without the embedding, alternating runs so that both see the same CPU.
Recorder: synthetic results for `--cameras` cameras at `--fps`, three people walking through each
camera at a time, tracked and written to SQLite on one thread; it keeps up when it records
`cameras x fps` frames a second or more.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from devtools.demo_media import DEMO_SCENES, render_scene
from devtools.machine import describe_cpu
from maskwatch import appearance
from maskwatch.config import CameraConfig, Settings
from maskwatch.inference.analyzer import FaceAnalyzer
from maskwatch.messages import FaceObservation, FrameMessage, FrameResult
from maskwatch.storage.db import open_database
from maskwatch.storage.record.recorder import Recorder
from maskwatch.storage.snapshots import ContextPicture, ContextShot, SnapshotPaths, SnapshotStore


def bench_inference(rounds: int) -> None:
    cv2.setNumThreads(1)
    frames = [render_scene(people, seed=i) for i, people in enumerate(DEMO_SCENES.values())]
    settings = Settings()
    plain = FaceAnalyzer(settings.analyzer, embed=False)
    with_looks = FaceAnalyzer(settings.analyzer, detector=plain.detector, embed=True)
    with_looks.classifier = plain.classifier
    faces = sum(len(r) for r in plain.analyze_batch(frames))
    times: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(rounds):
        for name, analyzer in (("without", plain), ("with", with_looks)):
            t0 = time.perf_counter()
            analyzer.analyze_batch(frames)
            times[name].append((time.perf_counter() - t0) * 1000 / len(frames))
    without, with_ = statistics.median(times["without"]), statistics.median(times["with"])
    boxes = [(d.box, img) for img in frames for d in plain.detector.detect(img)]
    t0 = time.perf_counter()
    for _ in range(20):
        for box, img in boxes:
            appearance.embed(img, box)
    per_face = (time.perf_counter() - t0) * 1000 / (20 * len(boxes))
    print(f"inference per 1280x720 frame ({faces / len(frames):.1f} faces), median of {rounds} alternating runs:")
    print(f"  detector + classifier:              {without:7.2f} ms")
    print(f"  detector + classifier + embeddings: {with_:7.2f} ms  (ratio {with_ / without:.3f})")
    print(f"  embedding alone: {per_face:.3f} ms per face")


def _results(cameras: int, fps: float, seconds: float, start: float) -> list[FrameResult]:
    rng = np.random.default_rng(0)
    looks = [tuple(rng.random(appearance.EMBEDDING_DIMS).tolist()) for _ in range(64)]
    out = []
    for n in range(int(seconds * fps)):
        t = start + n / fps
        for c in range(cameras):
            faces = []
            for p in range(3):  # three people crossing, a new one every few seconds
                x = (n * 40 + p * 400 + c * 7) % 1200
                who = looks[(n * 40 + p * 400) // 1200 * 3 + p]
                box = (float(x), 200.0 + 60 * p, float(x) + 80, 280.0 + 60 * p)
                label = "without_mask" if p == 0 else "with_mask"
                faces.append(FaceObservation(box, label, 0.9, 0.95, {label: 0.9}, who))
            out.append(FrameResult(FrameMessage(f"cam{c}", n, t, 1280, 720, b"\xff\xd8jpeg"), tuple(faces)))
    return out


def bench_recorder(cameras: int, fps: float, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cams = [CameraConfig(id=f"cam{c}", name=f"cam{c}", url="0") for c in range(cameras)]
        settings = Settings(cameras=cams)
        engine = open_database(f"sqlite:///{tmp}/bench.db")
        recorder = Recorder(settings, engine, _NoSnapshots(Path(tmp)))
        recorder.sync_cameras()
        results = _results(cameras, fps, seconds, time.time())
        batch = 64
        t0 = time.process_time()
        tracked = 0.0
        for i in range(0, len(results), batch):
            s0 = time.process_time()
            events = recorder.track(results[i : i + batch])
            tracked += time.process_time() - s0
            recorder.write(events, [])
        cpu = time.process_time() - t0
        engine.dispose()
    rate = len(results) / cpu
    need = cameras * fps
    print(f"recorder, {cameras} cameras x {fps:g} fps x {seconds:g} s, 3 faces per frame, SQLite, one thread:")
    print(f"  {len(results)} frames in {cpu:.2f} CPU s ({tracked:.2f} s tracking): {rate:.0f} frames/s")
    print(f"  needed {need:.0f} frames/s: {'keeps up' if rate >= need else 'falls behind'} ({rate / need:.1f}x)")


class _NoSnapshots(SnapshotStore):
    """Snapshots of synthetic frames (not JPEGs) are not what is measured: skip the encoding."""

    def save(
        self,
        camera_id: str,
        track_id: str,
        frame: FrameMessage,
        face: FaceObservation,
        others: Sequence[tuple[float, float, float, float]] = (),
        caption: str = "",
    ) -> SnapshotPaths:
        return SnapshotPaths(self.root / f"{track_id}.jpg", self.root / f"{track_id}-crop.jpg")

    def save_context(self, camera_id: str, track_id: str, shots: Sequence[ContextShot]) -> list[ContextPicture]:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=50)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=15, help="alternating inference runs")
    args = parser.parse_args()
    print(f"CPU: {describe_cpu()}")
    bench_inference(args.rounds)
    bench_recorder(args.cameras, args.fps, args.seconds)


if __name__ == "__main__":
    main()
