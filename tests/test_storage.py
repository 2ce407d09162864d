"""Migrations and the schema on SQLite and a real Postgres."""

import datetime as dt

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from storage.db import DatabaseError, create_db_engine, upgrade
from storage.models import Camera, DeliveryAttempt, OutboxAlert, Violation
from tests.factories import violation


def test_upgrade_creates_schema_and_is_idempotent(database_url: str) -> None:
    engine = create_db_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"cameras", "violations", "evaluation_counts", "alert_outbox", "alert_attempts"} <= tables
    columns = {c["name"] for c in inspect(engine).get_columns("violations")}
    assert {"id", "camera_id", "label", "score", "started_at", "snapshot_path"} <= columns
    engine.dispose()


def test_violation_roundtrip_keeps_utc(database_url: str) -> None:
    engine = create_db_engine(database_url)
    upgrade(engine)
    started = dt.datetime(2026, 11, 26, 8, 30, 15, 250000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with Session(engine) as s, s.begin():
        s.add(Camera(id="cam-1", name="Entrance", url="rtsp://***@10.0.0.5/stream"))
        s.flush()
        v = violation(
            "cam-1", "t1", started, score=0.91, box=[1.0, 2.0, 3.0, 4.0], snapshot_path="a.jpg", crop_path="b.jpg"
        )
        s.add(v)
        s.flush()
        alert = OutboxAlert(violation_id=v.id, channel="webhook:0", payload={"event_id": v.id})
        s.add(alert)
        s.flush()
        s.add(DeliveryAttempt(outbox_id=alert.id, ok=False, detail="HTTP 503"))
    with Session(engine) as s:
        got = s.scalars(select(Violation)).one()
        assert got.started_at == started
        assert got.started_at.tzinfo == dt.timezone.utc
        assert got.box == [1.0, 2.0, 3.0, 4.0]
        assert s.scalars(select(OutboxAlert)).one().state == "pending"
    engine.dispose()


def test_one_violation_per_track(database_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    engine = create_db_engine(database_url)
    upgrade(engine)
    now = dt.datetime.now(dt.timezone.utc)
    with Session(engine) as s, s.begin():
        s.add(Camera(id="c", name="c", url="x"))
        s.flush()
        s.add(violation("c", "t", now))
    with pytest.raises(IntegrityError), Session(engine) as s, s.begin():
        s.add(violation("c", "t", now))
    engine.dispose()


def test_unreachable_database_is_clear_and_hides_password() -> None:
    engine = create_db_engine("postgresql+psycopg2://maskwatch:hunter2@127.0.0.1:1/maskwatch")
    with pytest.raises(DatabaseError) as info:
        upgrade(engine)
    assert "hunter2" not in str(info.value)
    assert "127.0.0.1:1" in str(info.value)
