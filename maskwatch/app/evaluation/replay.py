"""Play a clip through the service's own stages, in one process, and keep what the tracker did.

The clip is read by ingest's camera reader (the same sampling and motion gate as a camera),
analysed by the inference stage's analyzer, and recorded by the recorder into a SQLite file,
exactly as the embedded service does, only one frame batch after another instead of on
threads. Beside the database, it keeps which track each face joined, for scoring identities.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from maskwatch.areas import CameraAreas
from maskwatch.config import AreaConfig, CameraConfig, Settings
from maskwatch.inference.analyzer import FaceAnalyzer
from maskwatch.inference.worker import decode_frame
from maskwatch.ingest.reader import CameraReader, StreamEnded
from maskwatch.messages import FaceObservation, FrameMessage, FrameResult
from maskwatch.storage.compliance import compliance_stats
from maskwatch.storage.models import Violation
from maskwatch.storage.record.recorder import Recorder
from maskwatch.storage.snapshots import SnapshotStore

BATCH = 8


@dataclass(frozen=True)
class TrackedFace:
    track_id: str
    box: tuple[float, float, float, float]
    label: str
    evaluated: bool  # big and sure enough for the recorder to judge (tracking.min_face_size, min_face_score)


@dataclass(frozen=True)
class RecordedViolation:
    track_id: str
    label: str
    started_s: float  # seconds from the clip's first frame
    confirmed_s: float


@dataclass
class ClipRun:
    camera_id: str
    sample_fps: float
    frames: list[tuple[float, list[TrackedFace]]] = field(default_factory=list)  # (seconds, faces), in order
    violations: list[RecordedViolation] = field(default_factory=list)
    people_counted: int = 0
    started_at: float = 0.0  # capture time of the first frame (epoch seconds): the clip's t = 0


def camera_id_for(clip: Path, sample_fps: float) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]", "-", clip.name.split(".")[0])[:48]
    return f"{stem}-{sample_fps:g}fps"


class _Player:
    """Receives the reader's frames, analyses them in batches and records the results."""

    def __init__(
        self, analyzer: FaceAnalyzer, recorder: Recorder, run: ClipRun, areas: CameraAreas | None, settings: Settings
    ) -> None:
        self.analyzer = analyzer
        self.tracking = settings.tracking
        self.areas = areas
        self.recorder = recorder
        self.run = run
        self.pending: list[FrameMessage] = []
        self.start: float | None = None

    def publish(self, frame: FrameMessage) -> None:
        self.pending.append(frame)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        frames, self.pending = self.pending, []
        analyzed = self.analyzer.analyze_batch([decode_frame(f) for f in frames], [self.areas] * len(frames))
        results = [
            FrameResult(
                f, tuple(FaceObservation(r.box, r.label, r.score, r.face_score, r.probs, r.embedding) for r in rs)
            )
            for f, rs in zip(frames, analyzed, strict=True)
        ]
        events = self.recorder.track(results)
        self.recorder.write(events, [])

    def _evaluated(self, face: FaceObservation) -> bool:
        return (
            face.box[3] - face.box[1] >= self.tracking.min_face_size and face.face_score >= self.tracking.min_face_score
        )

    def observe(self, result: FrameResult, tracks: list[str]) -> None:
        if self.start is None:
            self.start = result.frame.captured_at  # the first frame read is always sampled: t = 0
        faces = [TrackedFace(t, f.box, f.label, self._evaluated(f)) for f, t in zip(result.faces, tracks, strict=True)]
        self.run.frames.append((result.frame.captured_at - self.start, faces))


def replay_clip(
    settings: Settings,
    clip: Path,
    sample_fps: float,
    analyzer: FaceAnalyzer,
    engine: Engine,
    snapshots: Path,
    ignore_areas: list[AreaConfig] | None = None,
) -> ClipRun:
    """Play `clip` sampled at `sample_fps` into the database behind `engine` (already migrated)."""
    cam = CameraConfig(
        id=camera_id_for(clip, sample_fps),
        name=clip.name,
        url=str(clip),
        sample_fps=sample_fps,
        realtime=False,
        ignore_areas=ignore_areas or [],
    )
    run = ClipRun(cam.id, sample_fps)
    local = settings.model_copy(update={"cameras": [cam]})
    recorder = Recorder(local, engine, SnapshotStore(snapshots), observer=lambda r, t: player.observe(r, t))
    player = _Player(analyzer, recorder, run, CameraAreas.of(cam), settings)
    recorder.sync_cameras()
    reader = CameraReader(cam, settings.ingest, player.publish)
    with contextlib.suppress(StreamEnded):  # the end of the clip, as the reader reports every end
        reader.run(threading.Event())  # never set: a replay runs to the end of the clip
    player.flush()
    start = run.started_at = player.start or 0.0
    with Session(engine) as s:
        for v in s.scalars(select(Violation).where(Violation.camera_id == cam.id)):
            run.violations.append(
                RecordedViolation(
                    v.track_id, v.label, v.started_at.timestamp() - start, v.confirmed_at.timestamp() - start
                )
            )
    totals = compliance_stats(engine, _utc(start - 3600), _utc(start + 86400), camera=cam.id).totals()
    run.people_counted = totals[cam.id].people if cam.id in totals else 0
    return run


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)
