"""Camera health as a person reads it: a camera that refused every connection shows as offline, with
why, in the database, coverage gaps, reports, the compliance table and the console, also after
maskwatch stopped; and each camera's live picture, written by the record stage and served to the
console (faces blurred for viewers), without a broken disk ever stopping the recording."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import socket
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from devtools.demo_media import write_demo_clip
from maskwatch.app.runtime import Runtime
from maskwatch.config import Settings, parse_settings
from maskwatch.messages import CameraHealth, FrameMessage, FrameResult
from maskwatch.queue import open_queue
from maskwatch.storage.cameras import CameraStatus, coverage_gaps
from maskwatch.storage.compliance import compliance_stats
from maskwatch.storage.db import create_db_engine, open_database
from maskwatch.storage.models import Camera, CameraStatusEvent, EvaluationCount, Violation
from maskwatch.storage.record.live import LIVE_FOLDER, LivePictures, live_path, read_live
from maskwatch.storage.record.stage import RecorderStage
from maskwatch.storage.report import build_report, render_report
from maskwatch.streams import RESULTS
from tests.support.console import bearer, console_settings, login, running_console, seed, shown
from tests.support.pipeline import wait_until
from tests.support.results import JPEG, MASKED, UNMASKED, publish_frames

LIVE_OUTAGE = {"what": "recorder: live pictures (snapshot disk)"}


def closed_port() -> int:
    """A port nothing listens on: every connection to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pipeline_settings(database_url: str, tmp_path: Path, clip: Path, port: int) -> Settings:
    web = console_settings(database_url, tmp_path).web  # users to log in to the console with
    settings = parse_settings(
        {
            "cameras": [
                {"id": "clip", "name": "Clip", "url": str(clip), "sample_fps": 5, "realtime": False},
                {"id": "dead", "name": "Dead", "url": f"rtsp://127.0.0.1:{port}/x"},
            ],
            "database": {"url": database_url},
            "snapshots": {"dir": str(tmp_path / "snaps")},
            "ingest": {"open_timeout_s": 2, "backoff_initial_s": 0.3, "backoff_max_s": 1, "health_interval_s": 1},
        }
    )
    return settings.model_copy(update={"web": web})


def run_until_dead_and_clip_done(settings: Settings) -> None:
    """Every stage in this process, as `maskwatch run` runs them, stopped (as an operator would)
    once the clip is recorded and the other camera has been refused."""
    runtime = Runtime(settings)
    runtime.start()
    engine = create_engine(settings.database.url)
    stop = threading.Event()
    failed: list[AssertionError] = []

    def done() -> bool:
        with Session(engine) as s:
            dead, clip = s.get(Camera, "dead"), s.get(Camera, "clip")
            frames = s.scalar(select(func.sum(EvaluationCount.frames)).where(EvaluationCount.camera_id == "clip"))
        return (
            dead is not None
            and dead.state == "offline"
            and clip is not None
            and clip.state == "finished"
            and (frames or 0) >= 5
            and read_live(settings.snapshots.dir, "clip") is not None
        )

    def stop_when_done() -> None:
        try:
            wait_until(done, 90, "the clip recorded and the dead camera offline")
        except AssertionError as exc:
            failed.append(exc)
        finally:
            stop.set()

    watcher = threading.Thread(target=stop_when_done, daemon=True)
    watcher.start()
    runtime.wait(stop)
    watcher.join(5)
    engine.dispose()
    if failed:
        raise failed[0]


def test_a_camera_refusing_every_connection_reads_offline_everywhere(database_url: str, tmp_path: Path) -> None:
    port = closed_port()
    clip = write_demo_clip(tmp_path / "clip.mp4", seconds=2)
    settings = pipeline_settings(database_url, tmp_path, clip, port)
    run_until_dead_and_clip_done(settings)
    engine = create_db_engine(settings.database.url)

    # The database: down, with why, and the stop on record; no alert is due for a stop.
    with Session(engine) as s:
        dead = s.get(Camera, "dead")
        assert dead is not None
        states = list(
            s.scalars(
                select(CameraStatusEvent.state)
                .where(CameraStatusEvent.camera_id == "dead")
                .order_by(CameraStatusEvent.id)
            )
        )
    assert dead.state == "offline" and dead.frames_sent == 0
    assert "connection refused" in dead.detail and dead.detail.startswith("maskwatch stopped; the camera was offline")
    assert dead.down_since is None and not dead.offline_alerted
    assert states == ["connecting", "offline", "stopped"]

    # The coverage gap says why, without the reconnect schedule and without naming the camera again.
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    (gap,) = coverage_gaps(engine, since, camera_id="dead")
    refused = "connection refused: is the camera on, and the port right?"
    assert gap.end is None and gap.reason == f"{refused}; then maskwatch stopped"

    # Every report lists it, with nobody counted and how long it was not watched.
    until = dt.datetime.now(dt.timezone.utc)
    report = build_report(engine, since, until)
    data = json.loads(render_report(report, "json"))
    cams = {c["camera_id"]: c for c in data["cameras"]}
    assert set(cams) == {"clip", "dead"} and cams["clip"]["people"] > 0
    assert (cams["dead"]["people"], cams["dead"]["violations"], cams["dead"]["compliance"]) == (0, 0, None)
    # Down from its first attempt until now; the clip only while it connected.
    assert cams["dead"]["not_watched_s"] >= 1 and cams["clip"]["not_watched_s"] < cams["dead"]["not_watched_s"]
    (json_gap,) = [g for g in data["coverage_gaps"] if g["camera_id"] == "dead"]
    assert json_gap["reason"] == gap.reason and json_gap["to"] is None
    rows = {r["camera_id"]: r for r in csv.DictReader(io.StringIO(render_report(report, "csv")))}
    assert (rows["dead"]["people"], rows["dead"]["compliance_pct"]) == ("0", "")
    assert int(rows["dead"]["not_watched_s"]) == round(cams["dead"]["not_watched_s"])
    assert "connection refused" in render_report(report, "html")
    assert set(compliance_stats(engine, since, until).totals()) == {"clip", "dead"}

    # The live picture of the camera that streamed, none of the one that never did.
    picture = read_live(settings.snapshots.dir, "clip")
    assert picture is not None and (picture.width, picture.height) == (1280, 720) and picture.fps > 0
    assert read_live(settings.snapshots.dir, "dead") is None

    # The console: the badge, the page (never "streaming"), the API and the compliance table.
    with running_console(settings) as server, login(server.url, "victor") as client:
        grid = client.get("/cameras").text
        card = grid[grid.index('data-live-camera="dead"') :]
        card = card[: card.index("</li>")]
        assert '<span class="cam-state offline">offline</span>' in card and "connection refused" in card
        page = client.get("/cameras/dead").text
        assert "Streaming normally" not in page and "Offline: maskwatch stopped; the camera was offline" in page
        assert f'<td class="why">{refused}; then maskwatch stopped</td>' in page
        api = {c["id"]: c for c in client.get("/api/cameras").json()}
        assert api["dead"]["state"] == "offline" and "connection refused" in api["dead"]["detail"]
        assert api["dead"]["live"] is None and api["clip"]["live"]["fps"] > 0
        assert shown(client.get("/dashboard", params={"days": 1}).text)["dead"] == (0, 0, 0, "—")
    engine.dispose()


def test_a_stop_while_online_is_said_as_such() -> None:
    """The watchdog's last word on stopping, for each state the camera could be in."""
    from maskwatch.ingest.watchdog import CameraWatchdog

    settings = parse_settings({"cameras": [{"id": "c", "name": "C", "url": "rtsp://127.0.0.1:1/x"}]})
    dog = CameraWatchdog(settings.cameras[0], settings.ingest, open_queue("memory://"), 10)
    assert dog.stopped_detail() == "maskwatch stopped before the camera connected"
    dog.state = "online"
    assert dog.stopped_detail() == "maskwatch stopped"
    dog.state, dog.fault = "stalled", "no frame for 12 s"
    assert dog.stopped_detail() == "maskwatch stopped; the camera was stalled: no frame for 12 s"


def frame_result(camera: str, at: float, jpeg: bytes = JPEG) -> FrameResult:
    return FrameResult(FrameMessage(camera, int(at * 10), at, 1280, 720, jpeg), (MASKED, UNMASKED))


def test_live_pictures_keep_each_cameras_newest_frame(tmp_path: Path) -> None:
    live = LivePictures(tmp_path)
    for i in range(11):  # 5 fps over 2 s, then one frame delivered late
        live.offer(frame_result("cam-1", 100.0 + i * 0.2))
    live.offer(frame_result("cam-1", 100.5))
    live.offer(frame_result("cam-2", 50.0))
    assert live.write_due() == 2
    picture = read_live(tmp_path, "cam-1")
    assert picture is not None and picture.captured_at == 102.0 and picture.fps == pytest.approx(5.5, abs=0.6)
    assert picture.faces == (MASKED.box, UNMASKED.box) and (picture.width, picture.height) == (1280, 720)
    decoded = cv2.imdecode(np.frombuffer(picture.jpeg, np.uint8), cv2.IMREAD_COLOR)
    original = cv2.imdecode(np.frombuffer(JPEG, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None and original is not None
    assert np.array_equal(decoded, original)  # the same picture, not decoded and encoded again
    assert live.write_due() == 0  # nothing newer: nothing written
    live.offer(frame_result("cam-1", 103.0))
    assert live.write_due() == 1 and read_live(tmp_path, "cam-1").captured_at == 103.0  # type: ignore[union-attr]
    assert sorted(p.name for p in (tmp_path / LIVE_FOLDER).iterdir()) == ["cam-1.jpg", "cam-2.jpg"]
    # Another camera's file, or any other JPEG, is not taken for this camera's picture.
    live_path(tmp_path, "cam-3").write_bytes(live_path(tmp_path, "cam-2").read_bytes())
    assert read_live(tmp_path, "cam-3") is None
    live_path(tmp_path, "cam-4").write_bytes(JPEG)
    assert read_live(tmp_path, "cam-4") is None


def recorder_settings(database_url: str, tmp_path: Path) -> Settings:
    return parse_settings(
        {
            "cameras": [{"id": "cam-1", "name": "Entrance", "url": "rtsp://127.0.0.1/x"}],
            "database": {"url": database_url},
            "snapshots": {"dir": str(tmp_path / "snaps")},
        }
    )


def test_a_live_picture_that_cannot_be_written_never_stops_recording(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = recorder_settings(database_url, tmp_path)
    blocker = settings.snapshots.dir / LIVE_FOLDER
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the live pictures' folder should be")
    queue = open_queue("memory://")
    stage = RecorderStage(settings, queue, open_database(database_url))
    publish_frames(queue, 10)
    stop = threading.Event()
    thread = threading.Thread(target=stage.run, args=(stop, 100), daemon=True)
    with caplog.at_level(logging.INFO):
        thread.start()
        wait_until(lambda: queue.backlog(RESULTS) == 0, 20, "the results recorded")
        time.sleep(2.5)  # a few more tries at the live picture
        assert REGISTRY.get_sample_value("maskwatch_outage", LIVE_OUTAGE) == 1
        blocker.unlink()
        wait_until(lambda: read_live(settings.snapshots.dir, "cam-1") is not None, 10, "the live picture written")
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    failures = [r for r in caplog.records if "live pictures (snapshot disk) unavailable" in r.getMessage()]
    assert len(failures) == 1  # once per outage, not once per try
    assert any("live pictures (snapshot disk) available again" in r.getMessage() for r in caplog.records)
    assert REGISTRY.get_sample_value("maskwatch_outage", LIVE_OUTAGE) == 0
    engine = create_engine(database_url)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Violation)) == 1
        assert s.scalar(select(func.sum(EvaluationCount.frames))) == 10
    engine.dispose()


def test_the_console_serves_live_pictures_behind_login_blurred_for_viewers(database_url: str, tmp_path: Path) -> None:
    settings = console_settings(database_url, tmp_path)
    seed(settings)
    now = time.time()
    engine = create_db_engine(settings.database.url)
    status = CameraStatus(settings)
    with Session(engine) as s, s.begin():
        cam = s.get(Camera, "cam-1")
        assert cam is not None
        status.apply_health(s, cam, CameraHealth("cam-1", "online", "", 10, 0, now))
    engine.dispose()
    live = LivePictures(settings.snapshots.dir)
    live.offer(frame_result("cam-1", now - 1))
    live.offer(frame_result("cam-1", now - 0.5))
    live.write_due()
    stored = live_path(settings.snapshots.dir, "cam-1").read_bytes()
    with running_console(settings) as server:
        assert httpx.get(f"{server.url}/cameras/cam-1/live.jpg").status_code == 303  # to the login page
        with httpx.Client(base_url=server.url, headers=bearer("read-bot"), timeout=10) as api:
            cams = {c["id"]: c for c in api.get("/api/cameras").json()}
        shown_live = cams["cam-1"]["live"]
        assert shown_live["url"].startswith("/cameras/cam-1/live.jpg?t=") and not shown_live["stale"]
        assert shown_live["age_s"] < 10 and shown_live["fps"] == 2.0 and cams["cam-2"]["live"] is None
        with login(server.url, "rita") as reviewer:
            assert reviewer.get(shown_live["url"]).content == stored  # reviewers see faces
            assert 'src="/cameras/cam-1/live.jpg?t=' in reviewer.get("/cameras").text
            for probe in ("/cameras/cam-2/live.jpg", "/cameras/nope/live.jpg", "/cameras/..%2Fcam-1/live.jpg"):
                assert reviewer.get(probe).status_code in (404, 422), probe
        with login(server.url, "victor") as viewer:
            served = viewer.get(shown_live["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert "no-store" in served.headers["cache-control"]
    blurred = cv2.imdecode(np.frombuffer(served.content, np.uint8), cv2.IMREAD_COLOR)
    original = cv2.imdecode(np.frombuffer(JPEG, np.uint8), cv2.IMREAD_COLOR)
    assert blurred is not None and original is not None
    for x1, y1, x2, y2 in (MASKED.box, UNMASKED.box):  # every face blurred for a viewer
        face = (slice(int(y1), int(y2)), slice(int(x1), int(x2)))
        assert np.abs(blurred[face].astype(int) - original[face].astype(int)).mean() > 3
    corner = (slice(600, 720), slice(0, 150))  # and the rest of the picture left as it was
    assert np.abs(blurred[corner].astype(int) - original[corner].astype(int)).mean() < 3
