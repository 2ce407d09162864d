"""What the operator commands print: coverage gaps said once and without an empty reason, each
camera's state with since when and its frame rate, the file a report went to, and each alert
channel with where it delivers (without a webhook's credential)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from sqlalchemy.orm import Session

from maskwatch.app.cli import main
from maskwatch.storage.db import open_database
from maskwatch.storage.models import Camera, CameraStatusEvent, iso_utc
from maskwatch.storage.record.live import LivePicture, live_path
from tests.support.receivers import webhook_receiver

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
ONLINE_AT = NOW - dt.timedelta(minutes=9)
DOWN_AT = NOW - dt.timedelta(minutes=5)


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    """Camera `door` online for 9 minutes after a minute down with no reason given, at 4 frames a
    second; camera `yard` refusing connections for 5 minutes."""
    db = tmp_path / "site.db"
    engine = open_database(f"sqlite:///{db}")
    with Session(engine) as s, s.begin():
        s.add(Camera(id="door", name="Door", url="rtsp://h/door", state="online", updated_at=NOW))
        s.add(
            Camera(
                id="yard",
                name="Yard",
                url="rtsp://h/yard",
                state="offline",
                detail="connection refused",
                down_since=DOWN_AT,
                updated_at=NOW,
            )
        )
        s.flush()
        s.add_all(
            [
                CameraStatusEvent(camera_id="door", state="offline", detail="", at=ONLINE_AT - dt.timedelta(minutes=1)),
                CameraStatusEvent(camera_id="door", state="online", detail="", at=ONLINE_AT),
                CameraStatusEvent(camera_id="yard", state="online", detail="", at=DOWN_AT - dt.timedelta(hours=2)),
                CameraStatusEvent(camera_id="yard", state="offline", detail="connection refused", at=DOWN_AT),
            ]
        )
    engine.dispose()
    snapshots = tmp_path / "snapshots"
    ok, jpeg = cv2.imencode(".jpg", np.zeros((72, 128, 3), np.uint8))
    assert ok
    for camera_id in ("door", "yard"):  # yard's is from before it went down: not its frame rate now
        picture = LivePicture(camera_id, NOW.timestamp(), 128, 72, 4.0, (), jpeg.tobytes())
        live_path(snapshots, camera_id).parent.mkdir(parents=True, exist_ok=True)
        live_path(snapshots, camera_id).write_bytes(picture.encoded())
    cfg = tmp_path / "site.yaml"
    cfg.write_text(yaml.safe_dump({"database": {"url": f"sqlite:///{db}"}, "snapshots": {"dir": str(snapshots)}}))
    return cfg


def test_gaps_say_ongoing_once_and_no_colon_without_a_reason(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cameras", "gaps", "--config", str(site)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"camera door was not watched {iso_utc(ONLINE_AT - dt.timedelta(minutes=1))} -> {iso_utc(ONLINE_AT)} (60 s)",
        f"camera yard was not watched {iso_utc(DOWN_AT)} -> now (ongoing): connection refused",
    ]


def test_status_shows_since_when_and_the_frame_rate(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cameras", "status", "--config", str(site), "--json"]) == 0
    rows = {r["camera_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows["door"]["state_since"], rows["door"]["fps"], rows["door"]["since"]) == (iso_utc(ONLINE_AT), 4.0, None)
    assert (rows["yard"]["state_since"], rows["yard"]["fps"]) == (iso_utc(DOWN_AT), None)
    assert main(["cameras", "status", "--config", str(site)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.split(r"\s+", out[0]) == ["camera", "state", "since", "(UTC)", "fps", "sent", "dropped", "detail"]
    door = f"door online {ONLINE_AT:%Y-%m-%d %H:%M:%S} 4.0 0 0"
    yard = f"yard offline {DOWN_AT:%Y-%m-%d %H:%M:%S} - 0 0 connection refused"
    assert [" ".join(line.split()) for line in out[1:]] == [door, yard]


def test_a_report_to_a_file_says_what_it_wrote(site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "week.csv"
    before = dt.datetime.now(dt.timezone.utc)
    assert main(["report", "--config", str(site), "--since", "2026-01-05T00:00", "--out", str(out)]) == 0
    after = dt.datetime.now(dt.timezone.utc)
    said = capsys.readouterr()
    assert said.out == ""
    period = "2026-01-05 00:00 UTC → {:%Y-%m-%d %H:%M} UTC"
    assert said.err in {f"wrote {out} (2 camera(s), {period.format(until)})\n" for until in (before, after)}
    assert len(out.read_text().splitlines()) == 3  # the header, a row per camera


def test_alerts_test_names_each_channel_by_its_origin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with webhook_receiver() as receiver:
        hook = receiver.url.replace("/hook", "/services/T000/B000/XXXXSECRET")
        cfg = tmp_path / "c.yaml"
        cfg.write_text(yaml.safe_dump({"alerts": {"webhooks": [{"url": hook}]}}))
        assert main(["alerts", "test", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    origin = receiver.url.removesuffix("/hook") + "/..."
    assert out.split()[:4] == ["webhook:0", origin, "(json)", "delivered"]  # the format tells hooks apart
    assert "XXXXSECRET" not in out
