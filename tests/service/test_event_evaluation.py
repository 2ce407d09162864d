"""Event truth end to end: a generated clip whose people are known, played through the service's own
ingest reader, analyzer and recorder, gives one person per person and one violation per violator, in
`maskwatch evaluate-events` and in what the report, the API and the console show."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import httpx
import pytest

from devtools.walkthrough.build import build_set
from maskwatch.app.cli import main
from maskwatch.app.evaluation.replay import replay_clip
from maskwatch.app.evaluation.truth import load_truth, visits
from maskwatch.inference.analyzer import FaceAnalyzer
from maskwatch.storage.db import create_db_engine, upgrade
from maskwatch.storage.models import iso_utc
from maskwatch.storage.report import build_report
from maskwatch.storage.violations import ViolationFilter, find_violations, set_review
from tests.support.console import bearer, console_settings, login, running_console, shown

pytestmark = [pytest.mark.shared, pytest.mark.slow]


@pytest.fixture(scope="module")
def ci_truth(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    (truth,) = build_set("ci", tmp_path_factory.mktemp("walkthrough"), shared, seed=0)
    return truth


def test_evaluate_events_counts_each_person_once(ci_truth: Path, tmp_path: Path) -> None:
    assert main(["evaluate-events", str(ci_truth.parent), "--sample-fps", "2", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "events.json").read_text())
    (clip,) = report["clips"]
    assert clip["people_present"] == 6 and clip["violators"] == 4 and clip["masked_throughout"] == 2
    # The CI clip is the hard case in small: three people at a counter, then three taking turns at
    # one spot (one of them the moment the last one left). Counted by box overlap, it gave 14
    # people and no violator of the four.
    assert abs(clip["people_counted"] - clip["people_present"]) <= 1
    assert clip["found"] >= clip["violators"] - 1
    assert not clip["missed_merged"]
    assert clip["false_alarms"] == clip["masked_flagged"] == clip["duplicates"] == 0
    assert clip["idf1"] >= 0.85
    assert report["totals"]["violation_recall"] == clip["found"] / clip["violators"]


def test_report_api_and_console_show_the_clips_people(ci_truth: Path, database_url: str, tmp_path: Path) -> None:
    settings = console_settings(database_url, tmp_path)
    truth, clip = load_truth(ci_truth)
    engine = create_db_engine(database_url)
    upgrade(engine)
    run = replay_clip(settings, clip, 2.0, FaceAnalyzer(settings.analyzer), engine, tmp_path / "snaps")
    present = [v for p in truth.people for v in visits(p, settings.tracking.reentry_s)]
    violators = sum(bool(v.violator) for v in present)
    cam = run.camera_id
    # A recording is read faster than it plays, and its frames are dated as it plays: the console
    # counts up to now, so wait until the clip's last frame is in the past.
    time.sleep(max(0.0, run.started_at + run.frames[-1][0] + 1.0 - time.time()))
    now = dt.datetime.now(dt.timezone.utc)
    since, until = now - dt.timedelta(hours=2), now + dt.timedelta(hours=1)

    def numbers() -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
        total = build_report(engine, since, until).totals[cam]
        window = {"since": iso_utc(since), "until": iso_utc(until), "camera": cam}
        with httpx.Client(base_url=server.url, headers=bearer("read-bot"), timeout=10) as api:
            (api_total,) = api.get("/api/stats", params=window).json()["totals"]
        with login(server.url, "victor") as client:
            page = shown(client.get(f"/cameras/{cam}", params={"days": 1}).text)[cam]
        return (total.people, total.violations), (api_total["people"], api_total["violations"]), page[:2]

    with running_console(settings) as server:
        seen = numbers()
        assert seen[0] == seen[1] == seen[2]
        people, found = seen[0]
        assert abs(people - len(present)) <= 1 and violators - 1 <= found <= violators
        # A reviewer dismisses one as a false positive: every view drops it from the rate alike.
        (first, _name), *_ = find_violations(engine, ViolationFilter(camera=cam))[0]
        set_review(engine, first.id, "rita", "false_positive")
        after = numbers()
        assert after[0] == after[1] == after[2] == (people, found - 1)
    engine.dispose()
