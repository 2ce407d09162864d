"""Reports, the daily report e-mail, retention of reviewed work, and the review-to-retrain export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from maskwatch.alerts.channels import email_message
from maskwatch.app.cli import main
from maskwatch.config import EmailConfig, Settings
from maskwatch.storage.db import create_db_engine
from maskwatch.storage.jobs import apply_retention, queue_daily_report
from maskwatch.storage.models import OutboxAlert, Violation
from maskwatch.storage.violations import set_review
from tests.support.console import console_settings, seed


def write_config(settings: Settings, tmp_path: Path) -> Path:
    path = tmp_path / "c.yaml"
    data = settings.model_dump(mode="json")
    data["web"] = {}  # hashes and tokens are secrets: the report commands do not need them
    path.write_text(json.dumps(data))
    return path


def test_report_formats_with_denominators_and_gaps(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = console_settings(database_url, tmp_path)
    seed(settings)
    engine = create_db_engine(settings.database.url)
    set_review(engine, 3, "rita", "false_positive")
    engine.dispose()
    cfg = write_config(settings, tmp_path)
    assert main(["report", "--config", str(cfg), "--since", "1d", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    by_cam = {r["camera_id"]: r for r in rows}
    assert (by_cam["cam-1"]["people"], by_cam["cam-1"]["violations"], by_cam["cam-1"]["dismissed"]) == ("20", "6", "1")
    assert by_cam["cam-1"]["compliance_pct"] == "70.0" and by_cam["cam-2"]["compliance_pct"] == "100.0"
    assert main(["report", "--config", str(cfg), "--since", "1d", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (gap,) = report["coverage_gaps"]
    assert gap["camera_id"] == "cam-2" and gap["seconds"] == 900 and gap["reason"] == "connection refused"
    assert report["busiest_hours_utc"][0]["people"] == 32
    out = tmp_path / "r.html"
    assert main(["report", "--config", str(cfg), "--format", "html", "--out", str(out)]) == 0
    assert "<td>Entrance</td><td>20</td><td>6</td><td>1</td><td>70.0</td>" in out.read_text()


def test_daily_report_goes_out_as_an_email(database_url: str, tmp_path: Path) -> None:
    settings = console_settings(database_url, tmp_path)
    # Seeded at yesterday noon, UTC: the report covers the previous UTC day, whatever the time the test runs.
    today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    seed(settings, now=today - dt.timedelta(hours=12))
    engine = create_db_engine(settings.database.url)
    queue_daily_report(settings, engine, now=today + dt.timedelta(hours=6))
    queue_daily_report(settings, engine, now=today + dt.timedelta(hours=7))  # once only
    with Session(engine) as s:
        (row,) = s.scalars(select(OutboxAlert).where(OutboxAlert.kind == "report")).all()
    engine.dispose()
    assert row.channel == "email"
    msg = email_message(EmailConfig(host="h", sender="a@b.c", recipients=["d@e.f"]), row.payload)
    assert msg["Subject"].startswith("[maskwatch] Compliance ")
    plain = msg.get_body(("plain",))
    assert plain is not None and "cam-1,Entrance,20,7,0,65.0" in plain.get_content()


def test_retention_keeps_unreviewed_and_removes_orphans(database_url: str, tmp_path: Path) -> None:
    settings = console_settings(database_url, tmp_path)
    seed(settings)
    engine = create_db_engine(settings.database.url)
    set_review(engine, 1, "rita", "confirmed")
    orphan = settings.snapshots.dir / "cam-1" / "left-behind-frame.jpg"
    orphan.write_bytes(b"\xff\xd8")
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    fresh = settings.snapshots.dir / "cam-1" / "in-flight.tmp"
    fresh.write_bytes(b"x")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=200)
    result = apply_retention(engine, 90, now=later, keep_unreviewed=True, snapshots_root=settings.snapshots.dir)
    with Session(engine) as s:
        left = sorted(v.id for v in s.scalars(select(Violation)))
    engine.dispose()
    assert result.violations == 1 and left == [2, 3, 4, 5, 6, 7]  # only the reviewed one went
    assert not orphan.exists() and fresh.exists()  # a young file may belong to a write in flight


def test_export_dataset_for_retraining(database_url: str, tmp_path: Path) -> None:
    settings = console_settings(database_url, tmp_path)
    seed(settings)
    engine = create_db_engine(settings.database.url)
    set_review(engine, 1, "rita", "confirmed")
    set_review(engine, 2, "rita", "confirmed")  # seeded as mask_incorrect
    set_review(engine, 3, "rita", "false_positive")
    engine.dispose()
    out = tmp_path / "dataset"
    assert main(["export-dataset", "--config", str(write_config(settings, tmp_path)), "--out", str(out)]) == 0
    found = {p.parent.name: sorted(x.name for x in p.parent.iterdir()) for p in out.rglob("*.jpg")}
    assert found == {
        "without_mask": ["cam-1-1.jpg"],
        "mask_incorrect": ["cam-1-2.jpg"],
        "with_mask": ["cam-1-3.jpg"],
    }
    from maskwatch.labels import CLASSES
    from maskwatch.training.config import SourceConfig
    from maskwatch.training.sources import CropSet, read_folders

    crops = CropSet()
    read_folders(SourceConfig(kind="folders", path=out), 64, crops)  # the reader `maskwatch train` uses
    assert sorted(CLASSES[i] for i in crops.labels) == ["mask_incorrect", "with_mask", "without_mask"]
