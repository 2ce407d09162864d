"""The violation log as the console, the API, reports and the command line read and review it.

A reviewer confirms a violation or dismisses it as a false positive (with the face's true
label, for retraining); every decision is kept in `review_events`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select
from sqlalchemy.orm import Session

from maskwatch.errors import MaskwatchError
from maskwatch.labels import CLASSES, VIOLATIONS
from maskwatch.storage.models import (
    Camera,
    DeliveryAttempt,
    ImageView,
    OutboxAlert,
    ReviewEvent,
    Violation,
    ViolationFrame,
    iso_utc,
    utcnow,
    violation_json,
)

REVIEW_STATES = ("unreviewed", "confirmed", "false_positive")
MAX_BULK_REVIEW = 500  # violations one bulk review may decide: more than any page of the list


class ReviewError(MaskwatchError):
    """A review that cannot be applied (unknown violation, state or label)."""


@dataclass(frozen=True)
class ViolationFilter:
    camera: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    label: str | None = None
    state: str | None = None


def _matching(f: ViolationFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
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
    return where


def find_violations(
    engine: Engine, f: ViolationFilter, page: int = 1, page_size: int = 50
) -> tuple[list[tuple[Violation, str]], int]:
    """One page of violations, newest first, with their camera names; and the total matching."""
    where = _matching(f)
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


def neighbours(engine: Engine, f: ViolationFilter, violation_id: int) -> tuple[int | None, int | None]:
    """The violations just before and just after `violation_id` in the list `f` gives (newest first):
    (newer, older). Found from the violation's place in the order, so they hold whether or not the
    violation itself still matches `f` (a review just took it out of an "unreviewed" list)."""
    with Session(engine) as s:
        v = s.get(Violation, violation_id)
        if v is None:
            return None, None
        at, vid, where = v.started_at, v.id, _matching(f)
        before = or_(Violation.started_at < at, and_(Violation.started_at == at, Violation.id < vid))
        after = or_(Violation.started_at > at, and_(Violation.started_at == at, Violation.id > vid))
        older = s.scalar(
            select(Violation.id)
            .where(*where, before)
            .order_by(Violation.started_at.desc(), Violation.id.desc())
            .limit(1)
        )
        newer = s.scalar(
            select(Violation.id).where(*where, after).order_by(Violation.started_at, Violation.id).limit(1)
        )
    return newer, older


def get_violation(engine: Engine, violation_id: int) -> tuple[Violation, str, list[ReviewEvent]]:
    with Session(engine) as s:
        v = s.get(Violation, violation_id)
        if v is None:
            raise ReviewError(f"no violation with id {violation_id}")
        cam = s.get(Camera, v.camera_id)
        events = list(s.scalars(select(ReviewEvent).where(ReviewEvent.violation_id == v.id).order_by(ReviewEvent.id)))
        s.expunge_all()
    return v, cam.name if cam else v.camera_id, events


def _reviewed_label(v: Violation, state: str, label: str | None) -> str | None:
    """A false positive's label is the face's true class (default with_mask); a confirmed violation
    keeps its label unless the reviewer corrects it; back to unreviewed has none."""
    if state == "false_positive":
        label = label or "with_mask"
        if label in VIOLATIONS:
            raise ReviewError("a false positive's true label cannot be a violation label; confirm it instead")
        return label
    return label or v.label if state == "confirmed" else None


def _check_review(state: str, label: str | None) -> None:
    if state not in REVIEW_STATES:
        raise ReviewError(f"review state must be one of {', '.join(REVIEW_STATES)}, not {state!r}")
    if label is not None and label not in CLASSES:
        raise ReviewError(f"label must be one of {', '.join(CLASSES)}, not {label!r}")


def _apply_review(s: Session, v: Violation, user: str, state: str, label: str | None) -> None:
    label = _reviewed_label(v, state, label)
    v.review_state, v.review_label = state, label
    v.reviewed_by, v.reviewed_at = (user, utcnow()) if state != "unreviewed" else (None, None)
    s.add(ReviewEvent(violation_id=v.id, user=user, state=state, label=label, at=utcnow()))


def set_review(engine: Engine, violation_id: int, user: str, state: str, label: str | None = None) -> Violation:
    """Record a reviewer's decision (see `_reviewed_label` for the label kept)."""
    _check_review(state, label)
    with Session(engine) as s, s.begin():
        v = s.get(Violation, violation_id, with_for_update=True)
        if v is None:
            raise ReviewError(f"no violation with id {violation_id}")
        _apply_review(s, v, user, state, label)
        s.flush()
        s.expunge(v)
    return v


def set_reviews(
    engine: Engine, violation_ids: list[int], user: str, state: str, label: str | None = None
) -> list[Violation]:
    """The same decision for several violations, all or none: one unknown id and nothing changes
    (the error names the ids not found). Each decision is in the audit trail of its own violation."""
    _check_review(state, label)
    ids = sorted(set(violation_ids))
    if not ids:
        raise ReviewError("no violations chosen")
    if len(ids) > MAX_BULK_REVIEW:
        raise ReviewError(f"at most {MAX_BULK_REVIEW} violations at once, not {len(ids)}")
    with Session(engine) as s, s.begin():
        found = list(s.scalars(select(Violation).where(Violation.id.in_(ids)).order_by(Violation.id).with_for_update()))
        missing = sorted(set(ids) - {v.id for v in found})
        if missing:
            raise ReviewError(f"no violation with id {', '.join(map(str, missing))}; nothing was reviewed")
        for v in found:
            _apply_review(s, v, user, state, label)
        s.flush()
        s.expunge_all()
    return found


def context_frames(engine: Engine, violation_id: int) -> list[ViolationFrame]:
    """The violation's context pictures, in capture order."""
    with Session(engine) as s:
        rows = list(
            s.scalars(
                select(ViolationFrame)
                .where(ViolationFrame.violation_id == violation_id)
                .order_by(ViolationFrame.position)
            )
        )
        s.expunge_all()
    return rows


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
    """The newest violations as flat rows (`maskwatch events list`)."""
    rows, _ = find_violations(engine, ViolationFilter(camera=camera, since=since, label=label), page_size=limit)
    return [EventRow(v.id, v.camera_id, name, v.label, v.score, v.started_at, v.snapshot_path) for v, name in rows]


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
                    "id": a.id,  # what `maskwatch alerts retry ID` takes
                    "channel": a.channel,
                    "state": a.state,
                    "attempts": [{"at": iso_utc(t.at), "ok": t.ok, "detail": t.detail} for t in attempts],
                }
            )
        return {**violation_json(v, cam.name if cam else v.camera_id), "alerts": alerts}


def record_image_view(engine: Engine, violation_id: int, user: str, kind: str, blurred: bool) -> None:
    """Note that `user` opened one of the violation's pictures (the access log)."""
    with Session(engine) as s, s.begin():
        s.add(ImageView(violation_id=violation_id, user=user, kind=kind, blurred=blurred, at=utcnow()))


def image_views(engine: Engine, violation_id: int, limit: int = 50) -> list[ImageView]:
    """The latest openings of the violation's pictures, newest first."""
    with Session(engine) as s:
        rows = list(
            s.scalars(
                select(ImageView)
                .where(ImageView.violation_id == violation_id)
                .order_by(ImageView.at.desc(), ImageView.id.desc())
                .limit(limit)
            )
        )
        s.expunge_all()
    return rows
