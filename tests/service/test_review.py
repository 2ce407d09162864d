"""Reviewing the log from the terminal: `maskwatch events list|show`."""

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session

from maskwatch.app.cli import main
from maskwatch.app.shared import parse_since
from maskwatch.errors import MaskwatchError
from maskwatch.storage.db import create_db_engine, upgrade
from maskwatch.storage.models import Camera, DeliveryAttempt
from maskwatch.storage.violations import REVIEW_STATES
from tests.support.factories import outbox_alert, violation

NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture()
def config(database_url: str, tmp_path: Path) -> Path:
    engine = create_db_engine(database_url)
    upgrade(engine)
    with Session(engine) as s, s.begin():
        s.add_all([Camera(id="gate", name="Gate", url="x"), Camera(id="lobby", name="Lobby", url="y")])
        s.flush()
        for i, (cam, label, hours_ago) in enumerate(
            [("gate", "without_mask", 3), ("gate", "mask_incorrect", 0.5), ("lobby", "without_mask", 0.2)]
        ):
            at = NOW - dt.timedelta(hours=hours_ago)
            v = violation(
                cam,
                f"t{i}",
                at,
                label=label,
                score=0.8,
                snapshot_path=f"/snaps/{i}.jpg",
                crop_path=f"/snaps/{i}-face.jpg",
                review_state=("unreviewed", "confirmed", "false_positive")[i],
            )
            s.add(v)
            s.flush()
            alert = outbox_alert(v.id, "webhook:0", state="delivered", attempts=1)
            s.add(alert)
            s.flush()
            s.add(DeliveryAttempt(outbox_id=alert.id, ok=True, detail="HTTP 200", at=at))
    engine.dispose()
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"database": {"url": database_url}}))
    return path


def listed(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    assert main(["events", "list", "--config", str(config), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_list_filters(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert [e["camera_id"] for e in listed(config, capsys)] == ["lobby", "gate", "gate"]  # newest first
    assert len(listed(config, capsys, "--camera", "gate")) == 2
    assert len(listed(config, capsys, "--since", "1h")) == 2
    assert [e["label"] for e in listed(config, capsys, "--label", "mask_incorrect")] == ["mask_incorrect"]
    assert listed(config, capsys, "--camera", "gate", "--since", "1h")[0]["camera_name"] == "Gate"


def test_list_by_review_state(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    states = {e["label"] + "@" + e["camera_id"]: e["review_state"] for e in listed(config, capsys)}
    assert states == {
        "without_mask@gate": "unreviewed",
        "mask_incorrect@gate": "confirmed",
        "without_mask@lobby": "false_positive",
    }
    for state in REVIEW_STATES:
        assert [e["review_state"] for e in listed(config, capsys, "--state", state)] == [state]
    assert main(["events", "list", "--config", str(config), "--state", "dismissed"]) == 2
    assert "'dismissed' is not one of 'unreviewed', 'confirmed', 'false_positive'" in capsys.readouterr().err


def test_the_command_line_knows_every_review_state() -> None:
    from maskwatch.app.cli_review import REVIEW_STATES as OFFERED

    assert OFFERED == REVIEW_STATES


def test_table_output(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "list", "--config", str(config)]) == 0
    out = capsys.readouterr()
    assert "Lobby" in out.out and "/snaps/2.jpg" in out.out
    assert out.out.splitlines()[0].split() == [
        "id",
        "started",
        "(UTC)",
        "camera",
        "label",
        "score",
        "state",
        "snapshot",
    ]
    lobby = next(line for line in out.out.splitlines() if "Lobby" in line)
    assert lobby.split()[-2:] == ["false_positive", "/snaps/2.jpg"]
    assert "3 violation(s)" in out.err
    assert main(["events", "list", "--config", str(config), "--limit", "1"]) == 0
    assert "1 violation(s) of 3 (raise --limit for more)" in capsys.readouterr().err


def test_show_includes_delivery_history(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    event_id = listed(config, capsys, "--camera", "lobby")[0]["id"]
    assert main(["events", "show", str(event_id), "--config", str(config)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["event_id"] == event_id and shown["crop_path"] == "/snaps/2-face.jpg"
    assert shown["alerts"][0]["attempts"][0]["detail"] == "HTTP 200"
    assert isinstance(shown["alerts"][0]["id"], int)  # what `alerts retry ID` takes
    assert main(["events", "show", "9999", "--config", str(config)]) == 2


def test_parse_since() -> None:
    now = dt.datetime(2026, 11, 26, 12, tzinfo=dt.timezone.utc)
    assert parse_since("90m", now) == now - dt.timedelta(minutes=90)
    assert parse_since("2d", now) == now - dt.timedelta(days=2)
    assert parse_since("2026-11-25T08:00:00", now) == dt.datetime(2026, 11, 25, 8, tzinfo=dt.timezone.utc)
    assert parse_since("2026-11-25T08:00:00+02:00", now).utcoffset() == dt.timedelta(hours=2)
    with pytest.raises(MaskwatchError, match="--since"):
        parse_since("yesterday", now)
