"""The hourly job, the report, the JSON API and the console show the same compliance for the same
cameras and hours, with the violations a reviewer dismissed as false positives left out everywhere."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

from maskwatch.config import Settings
from maskwatch.storage.db import create_db_engine, upgrade
from maskwatch.storage.jobs import compliance_report
from maskwatch.storage.models import Camera, EvaluationCount, iso_utc, utcnow
from maskwatch.storage.report import build_report, render_report
from maskwatch.storage.violations import set_review
from tests.support.console import bearer, console_settings, login, running_console, shown
from tests.support.factories import violation

# Per camera, per hour (hours before the current one): people evaluated and violations recorded.
PEOPLE = {"cam-1": (10, 6), "cam-2": (8, 4)}
RECORDED = {"cam-1": (3, 1), "cam-2": (2, 0)}
# Each camera's numbers over both hours, after a reviewer confirmed one entrance violation and
# dismissed another: (people, violations, false positives, confirmed, compliance).
EXPECTED = {"cam-1": (16, 3, 1, 1, 0.8125), "cam-2": (12, 2, 0, 0, 0.8333)}


def seed(settings: Settings, first_hour: dt.datetime) -> None:
    """Two cameras counted in the same two hours; one entrance violation confirmed, one dismissed."""
    engine = create_db_engine(settings.database.url)
    upgrade(engine)
    entrance: list[int] = []
    with Session(engine) as s, s.begin():
        for cam in settings.cameras:
            s.add(Camera(id=cam.id, name=cam.name, url=cam.url))
        s.flush()
        for camera_id, people in PEOPLE.items():
            for h, (n, recorded) in enumerate(zip(people, RECORDED[camera_id], strict=True)):
                hour = first_hour + dt.timedelta(hours=h)
                # The recorder's own count includes violations later dismissed: the job used to report it.
                s.add(EvaluationCount(camera_id=camera_id, hour=hour, people=n, violations=recorded))
                for i in range(recorded):
                    v = violation(camera_id, f"{camera_id}-{h}-{i}", hour + dt.timedelta(minutes=5 + 10 * i))
                    s.add(v)
                    s.flush()
                    if camera_id == "cam-1":
                        entrance.append(v.id)
    set_review(engine, entrance[0], "rita", "confirmed")
    set_review(engine, entrance[1], "rita", "false_positive")
    engine.dispose()


def numbers(row: dict[str, Any]) -> tuple[Any, ...]:
    compliance = row["compliance"]
    return (
        row["people"],
        row["violations"],
        row.get("false_positives"),
        row.get("confirmed"),
        None if compliance is None else round(compliance, 4),
    )


def as_shown(expected: tuple[int, int, int, int, float]) -> tuple[int, int, int, str]:
    people, violations, dismissed, _, compliance = expected
    return people, violations, dismissed, f"{100 * compliance:.1f} %"


def test_job_report_api_and_console_agree(database_url: str, tmp_path: Path) -> None:
    settings = console_settings(database_url, tmp_path)
    now = utcnow()
    first_hour = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=3)
    seed(settings, first_hour)
    engine = create_db_engine(settings.database.url)
    since = now - dt.timedelta(days=1)

    job = {r["camera_id"]: r for r in compliance_report(engine, hours=24, now=now)}
    assert {cam: numbers({**r, "confirmed": None}) for cam, r in job.items()} == {
        cam: (*e[:3], None, e[4]) for cam, e in EXPECTED.items()
    }

    report = build_report(engine, since, now)
    assert {cam: numbers(t.to_json()) for cam, t in report.totals.items()} == EXPECTED
    rendered = json.loads(render_report(report, "json"))
    assert {c["camera_id"]: numbers(c) for c in rendered["cameras"]} == EXPECTED

    window = {"since": iso_utc(since), "until": iso_utc(now)}
    with running_console(settings) as server:
        with httpx.Client(base_url=server.url, headers=bearer("read-bot"), timeout=10) as api:
            stats = api.get("/api/stats", params={**window, "bucket": "hour"}).json()
            by_day = api.get("/api/stats", params={**window, "bucket": "day"}).json()
        with login(server.url, "victor") as client:
            dashboard = shown(client.get("/dashboard", params={"days": 1}).text)
            cameras = {cam: shown(client.get(f"/cameras/{cam}", params={"days": 1}).text) for cam in EXPECTED}
    api_hours = {(r["camera_id"], r["bucket"]): r for r in stats["rows"]}

    assert {t["camera_id"]: numbers(t) for t in stats["totals"]} == EXPECTED
    assert {t["camera_id"]: numbers(t) for t in by_day["totals"]} == EXPECTED
    assert dashboard == {cam: as_shown(e) for cam, e in EXPECTED.items()}
    assert cameras == {cam: {cam: as_shown(e)} for cam, e in EXPECTED.items()}

    # Hour by hour too: the job over one hour gives that hour's row of the API.
    for h in range(2):
        hour = first_hour + dt.timedelta(hours=h)
        job_hour = {r["camera_id"]: r for r in compliance_report(engine, hours=1, now=hour + dt.timedelta(hours=1))}
        assert {cam: numbers({**r, "confirmed": None}) for cam, r in job_hour.items()} == {
            cam: numbers({**api_hours[(cam, iso_utc(hour))], "confirmed": None}) for cam in EXPECTED
        }
    engine.dispose()
