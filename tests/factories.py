"""Rows for tests that need a populated database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from storage.models import OutboxAlert, Violation


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
