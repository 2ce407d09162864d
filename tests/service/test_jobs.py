"""Periodic jobs: retention and the compliance report."""

import datetime as dt
import logging
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from maskwatch.storage.db import create_db_engine, upgrade
from maskwatch.storage.jobs import apply_retention, compliance_report
from maskwatch.storage.models import Camera, EvaluationCount, OutboxAlert, Violation
from maskwatch.storage.violations import set_review
from tests.support.factories import outbox_alert, violation

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.timezone.utc)


def seed(database_url: str, tmp_path: Path):
    engine = create_db_engine(database_url)
    upgrade(engine)
    with Session(engine) as s, s.begin():
        s.add(Camera(id="c", name="C", url="x", updated_at=NOW - dt.timedelta(minutes=10)))
        s.add(Camera(id="d", name="D", url="y", updated_at=NOW))
        s.flush()
        for i, (age_days, alert_state) in enumerate([(100, "delivered"), (100, "pending"), (1, "delivered")]):
            snap = tmp_path / f"v{i}.jpg"
            snap.write_bytes(b"jpeg")
            at = NOW - dt.timedelta(days=age_days)
            v = violation("c", f"t{i}", at, snapshot_path=str(snap), crop_path=str(snap))
            s.add(v)
            s.flush()
            s.add(outbox_alert(v.id, "email", state=alert_state))
        s.add(EvaluationCount(camera_id="c", hour=NOW - dt.timedelta(hours=2), people=8, violations=2))
        s.add(EvaluationCount(camera_id="c", hour=NOW - dt.timedelta(hours=30), people=5, violations=5))
    return engine


def test_retention_removes_old_records_and_files_but_not_undelivered_alerts(database_url: str, tmp_path: Path) -> None:
    engine = seed(database_url, tmp_path)
    result = apply_retention(engine, retention_days=90, now=NOW)
    assert (result.violations, result.files) == (1, 1)  # v0's snapshot and crop are the same file here
    with Session(engine) as s:
        assert sorted(v.track_id for v in s.scalars(select(Violation))) == ["t1", "t2"]
        assert s.scalar(select(func.count()).select_from(OutboxAlert)) == 2
    assert not (tmp_path / "v0.jpg").exists() and (tmp_path / "v1.jpg").exists()
    assert apply_retention(engine, retention_days=90, now=NOW).violations == 0
    engine.dispose()


def test_compliance_report_over_the_last_day(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = seed(database_url, tmp_path)
    with Session(engine) as s, s.begin():
        late = [violation("c", f"late{i}", NOW - dt.timedelta(hours=2, minutes=-5)) for i in range(2)]
        s.add_all(late)
        s.flush()
        dismissed = late[1].id
    set_review(engine, dismissed, "rita", "false_positive")
    with caplog.at_level(logging.INFO, logger="maskwatch.storage.jobs"):
        (row,) = compliance_report(engine, hours=24, now=NOW)
    # t2 (a day old) and one late violation count; the dismissed one and those 100 days old do not.
    assert row == {"camera_id": "c", "people": 8, "violations": 2, "false_positives": 1, "compliance": 0.75}
    assert "report 24h: camera=c people=8 violations=2 compliance=75.0% false_positives=1" in caplog.messages
    engine.dispose()
