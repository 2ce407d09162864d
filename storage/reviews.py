"""Reviewing violations and counting compliance: what the web console and the JSON API show.

A reviewer confirms a violation or dismisses it as a false positive (with the face's true
label, for retraining); every decision is kept in `review_events`. Compliance counts people
evaluated (the denominator, per camera and hour) against violations not dismissed.

`compliance_stats` is the only place compliance is counted: the hourly job, `maskwatch report`
(and its e-mail), the API's /stats and the console's pages all show its rows, so a camera and hour
read the same everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from maskwatch.errors import MaskwatchError
from maskwatch.labels import CLASSES, VIOLATIONS
from maskwatch.storage.models import Camera, EvaluationCount, ReviewEvent, Violation, iso_utc, utcnow

REVIEW_STATES = ("unreviewed", "confirmed", "false_positive")
Bucket = Literal["hour", "day"]


class ReviewError(MaskwatchError):
    """A review that cannot be applied (unknown violation, state or label)."""


@dataclass(frozen=True)
class ViolationFilter:
    camera: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    label: str | None = None
    state: str | None = None


def find_violations(
    engine: Engine, f: ViolationFilter, page: int = 1, page_size: int = 50
) -> tuple[list[tuple[Violation, str]], int]:
    """One page of violations, newest first, with their camera names; and the total matching."""
    where = []
    if f.camera:
        where.append(Violation.camera_id == f.camera)
    if f.since:
        where.append(Violation.started_at >= f.since)
    if f.until:
        where.append(Violation.started_at < f.until)
    if f.label:
        where.append(Violation.label == f.label)
    if f.state:
        where.append(Violation.review_state == f.state)
    with Session(engine) as s:
        total = s.scalar(select(func.count()).select_from(Violation).where(*where)) or 0
        rows = s.execute(
            select(Violation, Camera.name)
            .join(Camera, Camera.id == Violation.camera_id)
            .where(*where)
            .order_by(Violation.started_at.desc(), Violation.id.desc())
            .offset((max(page, 1) - 1) * page_size)
            .limit(page_size)
        ).all()
        s.expunge_all()
    return [(v, name) for v, name in rows], int(total)


def get_violation(engine: Engine, violation_id: int) -> tuple[Violation, str, list[ReviewEvent]]:
    with Session(engine) as s:
        v = s.get(Violation, violation_id)
        if v is None:
            raise ReviewError(f"no violation with id {violation_id}")
        cam = s.get(Camera, v.camera_id)
        events = list(s.scalars(select(ReviewEvent).where(ReviewEvent.violation_id == v.id).order_by(ReviewEvent.id)))
        s.expunge_all()
    return v, cam.name if cam else v.camera_id, events


def set_review(engine: Engine, violation_id: int, user: str, state: str, label: str | None = None) -> Violation:
    """Record a reviewer's decision. A false positive's label is the face's true class
    (default with_mask); a confirmed violation keeps its label unless the reviewer corrects it."""
    if state not in REVIEW_STATES:
        raise ReviewError(f"review state must be one of {', '.join(REVIEW_STATES)}, not {state!r}")
    if label is not None and label not in CLASSES:
        raise ReviewError(f"label must be one of {', '.join(CLASSES)}, not {label!r}")
    with Session(engine) as s, s.begin():
        v = s.get(Violation, violation_id, with_for_update=True)
        if v is None:
            raise ReviewError(f"no violation with id {violation_id}")
        if state == "false_positive":
            label = label or "with_mask"
            if label in VIOLATIONS:
                raise ReviewError("a false positive's true label cannot be a violation label; confirm it instead")
        elif state == "confirmed":
            label = label or v.label
        else:
            label = None
        v.review_state, v.review_label = state, label
        v.reviewed_by, v.reviewed_at = (user, utcnow()) if state != "unreviewed" else (None, None)
        s.add(ReviewEvent(violation_id=v.id, user=user, state=state, label=label, at=utcnow()))
        s.flush()
        s.expunge(v)
    return v


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

    def totals(self) -> dict[str, StatRow]:
        out: dict[str, StatRow] = {}
        for r in self.rows:
            t = out.setdefault(r.camera_id, StatRow(r.camera_id, r.bucket))
            t.people += r.people
            t.violations += r.violations
            t.false_positives += r.false_positives
            t.confirmed += r.confirmed
        return out


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
    return Stats(sorted(rows.values(), key=lambda r: (r.camera_id, r.bucket)))


def hourly_totals(stats: Stats) -> dict[int, tuple[int, int]]:
    """(people, violations) by hour of day over all cameras: the busiest hours of a report."""
    by_hour: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in stats.rows:
        by_hour[r.bucket.hour][0] += r.people
        by_hour[r.bucket.hour][1] += r.violations
    return {h: (p, v) for h, (p, v) in sorted(by_hour.items())}
