"""The recorder: tracks faces per camera and turns confirmed violations into durable records.

Tracking (in memory) and writing (to the database) are separate steps so a failed write can
be retried as often as needed without tracking the same frames twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from maskwatch.config import Settings, TrackingConfig
from maskwatch.messages import CameraHealth, FrameResult
from maskwatch.redact import redact_url
from maskwatch.storage.cameras import CameraStatus
from maskwatch.storage.models import Camera, EvaluationCount, Violation, ViolationFrame, violation_json
from maskwatch.storage.outbox import alert_channels, enqueue
from maskwatch.storage.record.tracking import (
    CameraTracker,
    PersonEvaluated,
    TrackEvent,
    TrackingSettings,
    ViolationConfirmed,
)
from maskwatch.storage.snapshots import ContextShot, SnapshotStore, caption_for

log = logging.getLogger(__name__)


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


def tracking_settings(cfg: TrackingConfig) -> TrackingSettings:
    return TrackingSettings(
        iou_threshold=cfg.iou_threshold,
        max_age_s=cfg.max_age_s,
        reentry_s=cfg.reentry_s,
        appearance_gate=cfg.appearance_gate,
        reentry_gate=cfg.reentry_gate,
        motion_weight=cfg.motion_weight,
        count_after=cfg.count_after,
        confirm_k=cfg.confirm_k,
        confirm_m=cfg.confirm_m,
        confirm_min_s=cfg.confirm_min_s,
        min_face_size=cfg.min_face_size,
        min_face_score=cfg.min_face_score,
    )


@dataclass(frozen=True)
class FrameAnalyzed:
    """A frame's result was recorded (once, however often it was delivered): the coverage denominator."""

    camera_id: str
    at: float


RecordEvent = TrackEvent | FrameAnalyzed


class RecentKeys:
    """The last `size` keys seen, to drop results delivered twice (a worker that died after
    publishing but before acknowledging has its frames analyzed again by another)."""

    def __init__(self, size: int = 4096) -> None:
        self._order: deque[tuple[int, float]] = deque(maxlen=size)
        self._set: set[tuple[int, float]] = set()

    def add(self, key: tuple[int, float]) -> bool:
        """False if `key` was seen recently."""
        if key in self._set:
            return False
        if len(self._order) == self._order.maxlen:
            self._set.discard(self._order[0])
        self._order.append(key)
        self._set.add(key)
        return True


#: Told, after each frame is tracked, which track each of its faces joined (evaluation tools listen).
TrackObserver = Callable[[FrameResult, list[str]], None]


class Recorder:
    def __init__(
        self, settings: Settings, engine: Engine, snapshots: SnapshotStore, observer: TrackObserver | None = None
    ) -> None:
        self._engine = engine
        self._observer = observer
        self._snapshots = snapshots
        self._tracking = tracking_settings(settings.tracking)
        self._names = {c.id: c.name for c in settings.cameras}
        self._urls = {c.id: redact_url(c.url) for c in settings.cameras}
        self._channels = alert_channels(settings)
        self._trackers: dict[str, CameraTracker] = {}
        self._seen: dict[str, RecentKeys] = {}
        self.status = CameraStatus(settings)

    def reconfigure(self, settings: Settings) -> None:
        """Adopt a reloaded configuration: camera names and addresses, tracking, alert channels."""
        self._tracking = tracking_settings(settings.tracking)
        self._names = {c.id: c.name for c in settings.cameras}
        self._urls = {c.id: redact_url(c.url) for c in settings.cameras}
        self._channels = alert_channels(settings)
        self.status = CameraStatus(settings)
        self.sync_cameras()

    def sync_cameras(self) -> None:
        """Make the cameras table list every configured camera (names and addresses may change)."""
        with Session(self._engine) as s, s.begin():
            for cam_id, name in self._names.items():
                row = s.get(Camera, cam_id)
                if row is None:
                    s.add(Camera(id=cam_id, name=name, url=self._urls[cam_id]))
                else:
                    row.name, row.url = name, self._urls[cam_id]

    def track(self, results: Sequence[FrameResult]) -> list[RecordEvent]:
        events: list[RecordEvent] = []
        for r in results:
            cam = r.frame.camera_id
            if not self._seen.setdefault(cam, RecentKeys()).add((r.frame.seq, r.frame.captured_at)):
                log.debug("camera %s: frame %d delivered twice; the copy is ignored", cam, r.frame.seq)
                continue
            tracker = self._trackers.get(cam)
            if tracker is None:
                tracker = self._trackers[cam] = CameraTracker(cam, self._tracking)
            events.append(FrameAnalyzed(cam, r.frame.captured_at))
            events.extend(tracker.update(r.frame, r.faces))
            if self._observer is not None:
                self._observer(r, list(tracker.last_assignment))
        return events

    def write(self, events: Sequence[RecordEvent], health: Sequence[CameraHealth]) -> list[int]:
        """Write events and camera health in one transaction; returns the new violation ids."""
        new_ids: list[int] = []
        with Session(self._engine) as s, s.begin():
            for h in health:
                self.status.apply_health(s, self._camera(s, h.camera_id), h)
            for event in events:
                self._camera(s, event.camera_id)
                if isinstance(event, FrameAnalyzed):
                    self._count(s, event.camera_id, event.at).frames += 1
                elif isinstance(event, PersonEvaluated):
                    self._count(s, event.camera_id, event.at).people += 1
                elif isinstance(event, ViolationConfirmed):
                    vid = self._violation(s, event)
                    if vid is not None:
                        new_ids.append(vid)
        return new_ids

    def check_cameras(self) -> None:
        """Silent ingest and outages past their grace period (see maskwatch.storage.cameras)."""
        with Session(self._engine) as s, s.begin():
            self.status.check(s)

    def _camera(self, s: Session, camera_id: str) -> Camera:
        cam = s.get(Camera, camera_id)
        if cam is None:  # a result from a camera no longer in the config: keep its records valid
            cam = Camera(id=camera_id, name=self._names.get(camera_id, camera_id), url=self._urls.get(camera_id, ""))
            s.add(cam)
            s.flush()
        return cam

    @staticmethod
    def _count(s: Session, camera_id: str, at: float) -> EvaluationCount:
        hour = _utc(at).replace(minute=0, second=0, microsecond=0)
        row = s.get(EvaluationCount, (camera_id, hour))
        if row is None:
            row = EvaluationCount(camera_id=camera_id, hour=hour, people=0, violations=0, frames=0)
            s.add(row)
            s.flush()
        return row

    def _violation(self, s: Session, e: ViolationConfirmed) -> int | None:
        exists = s.scalar(
            select(Violation.id).where(Violation.camera_id == e.camera_id, Violation.track_id == e.track_id)
        )
        if exists is not None:  # written by an earlier attempt whose commit was acknowledged late
            return None
        name = self._names.get(e.camera_id, e.camera_id)
        caption = caption_for(name, e.best.frame.captured_at)
        paths = self._snapshots.save(e.camera_id, e.track_id, e.best.frame, e.best.face, e.best.others, caption)
        shots = [ContextShot(c.frame, c.face, c.others) for c in e.context]
        context = self._snapshots.save_context(e.camera_id, e.track_id, shots)
        v = Violation(
            camera_id=e.camera_id,
            track_id=e.track_id,
            label=e.label,
            score=round(e.score, 5),
            started_at=_utc(e.started_at),
            confirmed_at=_utc(e.confirmed_at),
            box=[round(c, 1) for c in e.best.face.box],
            snapshot_path=str(paths.frame),
            crop_path=str(paths.crop),
        )
        s.add(v)
        s.flush()
        for position, c in enumerate(context):
            s.add(
                ViolationFrame(
                    violation_id=v.id,
                    position=position,
                    path=str(c.path),
                    captured_at=_utc(c.captured_at),
                    label=c.label,
                    score=round(c.score, 5),
                    box=list(c.box),
                )
            )
        self._count(s, e.camera_id, e.confirmed_at).violations += 1
        enqueue(s, self._channels, "violation", self._payload(v), violation_id=v.id)
        log.info(
            "violation %d: camera=%s track=%s label=%s score=%.2f snapshot=%s context_pictures=%d",
            v.id,
            e.camera_id,
            e.track_id,
            e.label,
            e.score,
            paths.frame,
            len(context),
            extra={"camera_id": e.camera_id, "event_id": v.id, "label": e.label},
        )
        return v.id

    def _payload(self, v: Violation) -> dict[str, Any]:
        payload = violation_json(v, self._names.get(v.camera_id, v.camera_id))
        payload["snapshot_relpath"] = Path(v.snapshot_path).relative_to(self._snapshots.root).as_posix()
        return payload
