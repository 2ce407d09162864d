"""Migrations and the schema on SQLite and a real Postgres."""

import datetime as dt

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from maskwatch.storage.db import DatabaseError, create_db_engine, upgrade
from maskwatch.storage.models import Camera, DeliveryAttempt, OutboxAlert, Violation
from tests.support.factories import outbox_alert, violation


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
        alert = outbox_alert(v.id, "webhook:0", payload={"event_id": v.id})
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


def test_migrations_match_the_models(database_url: str) -> None:
    """Every column, index and constraint of maskwatch.storage.models is created by the migrations."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from maskwatch.storage.models import Base

    engine = create_db_engine(database_url)
    upgrade(engine)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    # SQLite reflects no column comments; type names of the UTC wrapper differ harmlessly.
    assert [d for d in diffs if not (isinstance(d, list) and d and d[0][0] in ("modify_comment", "modify_type"))] == []


def test_upgrade_keeps_existing_alerts(database_url: str) -> None:
    """Alerts written under schema 0001 get a unique idempotency key, and 0002 downgrades cleanly."""
    from sqlalchemy import text

    from maskwatch.storage.db import migrate

    engine = create_db_engine(database_url)
    migrate(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO cameras VALUES ('c', 'C', 'x', 'online', '', 0, 0, CURRENT_TIMESTAMP)"))
        conn.execute(
            text(
                "INSERT INTO violations (camera_id, track_id, label, score, started_at, confirmed_at, box,"
                " snapshot_path, crop_path, created_at) VALUES ('c', 't', 'without_mask', 0.9, CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP, '[]', 'a', 'b', CURRENT_TIMESTAMP)"
            )
        )
        for channel in ("webhook:0", "email"):
            conn.execute(
                text(
                    "INSERT INTO alert_outbox (violation_id, channel, state, attempts, next_attempt_at, last_error,"
                    " payload, created_at) VALUES (1, :ch, 'pending', 0, CURRENT_TIMESTAMP, '', '{}',"
                    " CURRENT_TIMESTAMP)"
                ),
                {"ch": channel},
            )
    migrate(engine)
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT kind, event_key FROM alert_outbox ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("violation", "outbox:1"), ("violation", "outbox:2")]
    migrate(engine, "0001", down=True)
    migrate(engine)
    engine.dispose()
