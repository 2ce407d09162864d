"""Reading the violation log back for review (`maskwatch events list|show`)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from maskwatch.errors import MaskwatchError
from maskwatch.storage.models import Camera, DeliveryAttempt, OutboxAlert, Violation, iso_utc, violation_json

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_since(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """`1h`, `30m`, `2d`, or an ISO-8601 time (UTC when no zone is given)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    m = _RELATIVE.match(text.strip())
    if m:
        return now - dt.timedelta(seconds=int(m.group(1)) * _UNIT_S[m.group(2)])
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise MaskwatchError(f"--since {text!r}: use a duration like 1h, 30m, 2d or an ISO time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class EventRow:
    id: int
    camera_id: str
    camera_name: str
    label: str
    score: float
    started_at: dt.datetime
    snapshot_path: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "camera_id": self.camera_id,
            "camera_name": self.camera_name,
            "label": self.label,
            "score": self.score,
            "started_at": iso_utc(self.started_at),
            "snapshot_path": self.snapshot_path,
        }


def list_events(
    engine: Engine,
    camera: str | None = None,
    since: dt.datetime | None = None,
    label: str | None = None,
    limit: int = 200,
) -> list[EventRow]:
    query = select(Violation, Camera.name).join(Camera, Camera.id == Violation.camera_id)
    if camera:
        query = query.where(Violation.camera_id == camera)
    if since:
        query = query.where(Violation.started_at >= since)
    if label:
        query = query.where(Violation.label == label)
    query = query.order_by(Violation.started_at.desc(), Violation.id.desc()).limit(limit)
    with Session(engine) as s:
        return [
            EventRow(v.id, v.camera_id, name, v.label, v.score, v.started_at, v.snapshot_path)
            for v, name in s.execute(query).all()
        ]


def show_event(engine: Engine, event_id: int) -> dict[str, Any]:
    with Session(engine) as s:
        v = s.get(Violation, event_id)
        if v is None:
            raise MaskwatchError(f"no violation with id {event_id}")
        cam = s.get(Camera, v.camera_id)
        alerts = []
        for a in s.scalars(select(OutboxAlert).where(OutboxAlert.violation_id == v.id).order_by(OutboxAlert.id)):
            attempts = s.scalars(
                select(DeliveryAttempt).where(DeliveryAttempt.outbox_id == a.id).order_by(DeliveryAttempt.id)
            )
            alerts.append(
                {
                    "channel": a.channel,
                    "state": a.state,
                    "attempts": [{"at": iso_utc(t.at), "ok": t.ok, "detail": t.detail} for t in attempts],
                }
            )
        return {**violation_json(v, cam.name if cam else v.camera_id), "alerts": alerts}
