"""Compliance: people evaluated against violations not dismissed, per camera and hour or day.

`compliance_stats` is the only place compliance is counted: the hourly job, `maskwatch report`
(and its e-mail), the API's /stats and the console's pages all show its rows, so a camera and hour
read the same everywhere. Its totals list every camera maskwatch watched or tried to watch, the
ones that counted nobody (a camera that never connected) too.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Engine, exists, select
from sqlalchemy.orm import Session

from maskwatch.storage.models import Camera, CameraStatusEvent, EvaluationCount, Violation, iso_utc

Bucket = Literal["hour", "day"]


@dataclass
class StatRow:
    """One camera's counts in one bucket (or over a period), and the compliance rate they give."""

    camera_id: str
    bucket: dt.datetime
    people: int = 0
    violations: int = 0  # not dismissed as false positives
    false_positives: int = 0
    confirmed: int = 0

    @property
    def compliance(self) -> float | None:
        return None if not self.people else max(0.0, 1.0 - self.violations / self.people)

    def to_json(self) -> dict[str, Any]:
        return {
            "camera_id": self.camera_id,
            "bucket": iso_utc(self.bucket),
            "people": self.people,
            "violations": self.violations,
            "confirmed": self.confirmed,
            "false_positives": self.false_positives,
            "compliance": None if self.compliance is None else round(self.compliance, 4),
        }


@dataclass
class Stats:
    rows: list[StatRow] = field(default_factory=list)
    #: Cameras in the period without a row: watched (or tried) but nobody counted.
    idle: dict[str, dt.datetime] = field(default_factory=dict)  # camera -> the period's first bucket

    def totals(self) -> dict[str, StatRow]:
        out: dict[str, StatRow] = {}
        for cam, bucket in self.idle.items():
            out[cam] = StatRow(cam, bucket)
        for r in self.rows:
            t = out.setdefault(r.camera_id, StatRow(r.camera_id, r.bucket))
            t.people += r.people
            t.violations += r.violations
            t.false_positives += r.false_positives
            t.confirmed += r.confirmed
        return dict(sorted(out.items()))


def _bucket(when: dt.datetime, bucket: Bucket) -> dt.datetime:
    when = when.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    return when.replace(hour=0) if bucket == "day" else when


def compliance_stats(
    engine: Engine, since: dt.datetime, until: dt.datetime, camera: str | None = None, bucket: Bucket = "hour"
) -> Stats:
    """People evaluated, violations (those dismissed as false positives apart) and confirmed ones per
    camera and hour (or day), UTC, in [since, until).

    Violations are counted from their rows, not from the recorder's hourly count, which cannot
    know that a reviewer dismissed one later."""
    rows: dict[tuple[str, dt.datetime], StatRow] = {}

    def row(cam: str, when: dt.datetime) -> StatRow:
        key = (cam, _bucket(when, bucket))
        return rows.setdefault(key, StatRow(*key))

    # People are counted per hour, so violations are taken from the same hour boundary: a window
    # starting at 10:40 holds the whole 10:00 hour of both, not its people with part of its violations.
    start = _bucket(since, "hour")
    with Session(engine) as s:
        counts = select(EvaluationCount).where(EvaluationCount.hour >= start, EvaluationCount.hour < until)
        found = select(Violation.camera_id, Violation.started_at, Violation.review_state).where(
            Violation.started_at >= start, Violation.started_at < until
        )
        if camera:
            counts = counts.where(EvaluationCount.camera_id == camera)
            found = found.where(Violation.camera_id == camera)
        for c in s.scalars(counts):
            row(c.camera_id, c.hour).people += c.people
        for cam, started, state in s.execute(found):
            r = row(cam, started)
            if state == "false_positive":
                r.false_positives += 1
            else:
                r.violations += 1
                r.confirmed += state == "confirmed"
        counted = {cam for cam, _ in rows}
        idle = {cam: _bucket(since, bucket) for cam in _cameras_watched(s, until, camera) if cam not in counted}
    return Stats(sorted(rows.values(), key=lambda r: (r.camera_id, r.bucket)), idle)


def _cameras_watched(s: Session, until: dt.datetime, camera: str | None) -> list[str]:
    """Cameras maskwatch had started watching (or trying to) before `until`, but not those switched
    off or removed from the configuration: a camera that never connected counts, with nobody seen."""
    reported = exists().where(CameraStatusEvent.camera_id == Camera.id, CameraStatusEvent.at < until)
    query = select(Camera.id).where(reported, Camera.state != "disabled")
    if camera:
        query = query.where(Camera.id == camera)
    return list(s.scalars(query))


def hourly_totals(stats: Stats) -> dict[int, tuple[int, int]]:
    """(people, violations) by hour of day over all cameras: the busiest hours of a report."""
    by_hour: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in stats.rows:
        by_hour[r.bucket.hour][0] += r.people
        by_hour[r.bucket.hour][1] += r.violations
    return {h: (p, v) for h, (p, v) in sorted(by_hour.items())}
