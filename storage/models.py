"""Database schema (SQLAlchemy 2.0). Migrations in `storage/migrations` create exactly this."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class Base(DeclarativeBase):
    pass


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text, comment="camera address with any password removed")
    state: Mapped[str] = mapped_column(String(16), default="unknown")
    detail: Mapped[str] = mapped_column(Text, default="")
    frames_sent: Mapped[int] = mapped_column(Integer, default=0)
    frames_dropped: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    down_since: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime(), nullable=True, comment="when it stopped being watched; null while online"
    )
    offline_alerted: Mapped[bool] = mapped_column(
        Boolean, default=False, comment="a camera_offline alert went out for the current outage"
    )


class CameraStatusEvent(Base):
    """Every change of a camera's state, for coverage reports ("not watched 02:10-02:25")."""

    __tablename__ = "camera_status_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_camera_status_events_camera_at", "camera_id", "at"),)


class Violation(Base):
    __tablename__ = "violations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), index=True)
    track_id: Mapped[str] = mapped_column(
        String(128), comment="one person's track, derived from the camera and its first frame; one violation each"
    )
    label: Mapped[str] = mapped_column(String(32), index=True)
    score: Mapped[float] = mapped_column(Float)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    confirmed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    box: Mapped[list[float]] = mapped_column(JSON, comment="face box in the snapshot, pixels")
    snapshot_path: Mapped[str] = mapped_column(Text, comment="annotated full frame (JPEG)")
    crop_path: Mapped[str] = mapped_column(Text, comment="face crop (JPEG)")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    review_state: Mapped[str] = mapped_column(
        String(16), default="unreviewed", index=True, comment="unreviewed | confirmed | false_positive"
    )
    review_label: Mapped[str | None] = mapped_column(
        String(32), nullable=True, comment="the reviewer's label: the true class of the face"
    )
    reviewed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    # SQLite's AUTOINCREMENT: an erased violation's id is never handed to a later one, so a link
    # sent in an alert (or a note that says "violation 42") can never lead to another person.
    __table_args__ = (
        UniqueConstraint("camera_id", "track_id", name="uq_violation_track"),
        {"sqlite_autoincrement": True},
    )


class ViolationFrame(Base):
    """A small picture of the violator from one of the frames around the confirmation: the
    reviewer sees the person over a moment, not in one frame only."""

    __tablename__ = "violation_frames"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    violation_id: Mapped[int] = mapped_column(ForeignKey("violations.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, comment="0, 1, ... in capture order")
    path: Mapped[str] = mapped_column(Text, comment="the picture (JPEG), next to the snapshot")
    captured_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    label: Mapped[str] = mapped_column(String(32), comment="the classifier's label in that frame")
    score: Mapped[float] = mapped_column(Float)
    box: Mapped[list[float]] = mapped_column(JSON, comment="the violator's face in the picture, pixels")

    __table_args__ = (UniqueConstraint("violation_id", "position", name="uq_violation_frame_position"),)


class ReviewEvent(Base):
    """The audit trail of reviews: who decided what about a violation, and when."""

    __tablename__ = "review_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    violation_id: Mapped[int] = mapped_column(ForeignKey("violations.id"), index=True)
    user: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(32), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ImageView(Base):
    """Who opened which violation's pictures, and when: the pictures are of people, and data
    protection law asks who saw them."""

    __tablename__ = "image_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    violation_id: Mapped[int] = mapped_column(ForeignKey("violations.id"), index=True)
    user: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16), comment="frame | crop | context")
    blurred: Mapped[bool] = mapped_column(Boolean, comment="the face was shown blurred")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SessionGeneration(Base):
    """A console user's session generation: a session cookie carries the generation it started in,
    and a logout moves it on, so every copy of that cookie stops working, in every console process
    and after restarts."""

    __tablename__ = "session_generations"

    user: Mapped[str] = mapped_column(String(80), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


def iso_utc(when: dt.datetime) -> str:
    """ISO-8601 with a Z suffix, the form alerts and `events` print."""
    return when.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def violation_key(camera_id: str, track_id: str) -> str:
    """The idempotency key of a violation and its alerts: the same track can never alert twice."""
    return f"violation:{camera_id}:{track_id}"


def violation_json(v: Violation, camera_name: str) -> dict[str, Any]:
    """A violation as alerts and the review commands present it."""
    return {
        "type": "violation",
        "event_key": violation_key(v.camera_id, v.track_id),
        "event_id": v.id,
        "camera_id": v.camera_id,
        "camera_name": camera_name,
        "track_id": v.track_id,
        "label": v.label,
        "score": v.score,
        "started_at": iso_utc(v.started_at),
        "confirmed_at": iso_utc(v.confirmed_at),
        "box": v.box,
        "snapshot_path": v.snapshot_path,
        "crop_path": v.crop_path,
        "review_state": v.review_state,
        "review_label": v.review_label,
        "reviewed_by": v.reviewed_by,
        "reviewed_at": iso_utc(v.reviewed_at) if v.reviewed_at else None,
    }


class EvaluationCount(Base):
    """People evaluated per camera per hour: the denominator of compliance rates."""

    __tablename__ = "evaluation_counts"

    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), primary_key=True)
    hour: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    people: Mapped[int] = mapped_column(Integer, default=0)
    violations: Mapped[int] = mapped_column(Integer, default=0)
    frames: Mapped[int] = mapped_column(Integer, default=0, comment="frames analyzed (each counted once)")


class OutboxAlert(Base):
    """An alert to deliver, written in the same transaction as the event that raised it."""

    __tablename__ = "alert_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(
        String(32), default="violation", comment="violation | camera_offline | camera_online"
    )
    event_key: Mapped[str] = mapped_column(String(300), comment="idempotency key, sent as the Idempotency-Key header")
    violation_id: Mapped[int | None] = mapped_column(ForeignKey("violations.id"), index=True, nullable=True)
    channel: Mapped[str] = mapped_column(String(64), comment="webhook:<n> or email")
    state: Mapped[str] = mapped_column(String(16), default="pending", comment="pending | delivered | dead")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        UniqueConstraint("channel", "event_key", name="uq_outbox_event"),
    )


class DeliveryAttempt(Base):
    __tablename__ = "alert_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("alert_outbox.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text, default="")
