"""Rows for tests that need a populated database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from maskwatch.config import Settings
from maskwatch.storage.models import OutboxAlert, Violation


def violation(camera_id: str, track_id: str, at: dt.datetime, **fields: Any) -> Violation:
    """A violation started and confirmed at `at`; any column can be overridden."""
    values: dict[str, Any] = {
        "label": "without_mask",
        "score": 0.9,
        "box": [0.0, 0.0, 1.0, 1.0],
        "snapshot_path": "",
        "crop_path": "",
        **fields,
    }
    return Violation(camera_id=camera_id, track_id=track_id, started_at=at, confirmed_at=at, **values)


def outbox_alert(violation_id: int | None, channel: str, **fields: Any) -> OutboxAlert:
    """An alert row for `violation_id` on `channel`, keyed like the recorder keys them."""
    values: dict[str, Any] = {"payload": {}, "event_key": f"violation:test:{violation_id}", **fields}
    return OutboxAlert(violation_id=violation_id, channel=channel, **values)


def record_violations(settings: Settings, n: int = 1, camera_id: str = "cam-1", start: float = 1_790_000_000.0) -> None:
    """`n` violations recorded the way the recorder records them: rows, snapshots and outbox alerts."""
    import cv2

    from devtools.demo_media import DEMO_SCENES, render_scene
    from maskwatch.messages import FaceObservation, FrameMessage
    from maskwatch.storage.db import create_db_engine, upgrade
    from maskwatch.storage.record.recorder import Recorder
    from maskwatch.storage.record.tracking import BestShot, ViolationConfirmed
    from maskwatch.storage.snapshots import SnapshotStore

    jpeg = cv2.imencode(".jpg", render_scene(DEMO_SCENES["entrance"]))[1].tobytes()
    face = FaceObservation((175.0, 185.0, 325.0, 335.0), "without_mask", 0.85, 0.95, {"without_mask": 0.9})
    engine = create_db_engine(settings.database.url)
    upgrade(engine)
    recorder = Recorder(settings, engine, SnapshotStore(settings.snapshots.dir))
    recorder.sync_cameras()
    t0 = start
    events = [
        ViolationConfirmed(
            camera_id,
            f"{camera_id}-{i}",
            "without_mask",
            0.85,
            t0 + i,
            t0 + i + 1,
            BestShot(FrameMessage(camera_id, i, t0 + i, 1280, 720, jpeg), face),
        )
        for i in range(n)
    ]
    recorder.write(events, [])
    engine.dispose()
