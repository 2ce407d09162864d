"""A camera removed by a configuration reload, against cameras that refuse every connection: it goes
straight to `disabled`, never "maskwatch stopped", and its coverage gap says it was removed; the
cameras still configured keep what a shutdown says of them."""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from maskwatch.config import Settings, parse_settings
from maskwatch.ingest.stage import IngestStage
from maskwatch.messages import CameraHealth
from maskwatch.queue import open_queue
from maskwatch.storage.cameras import CameraStatus, coverage_gaps
from maskwatch.storage.db import create_db_engine, upgrade
from maskwatch.storage.models import Camera, utcnow
from maskwatch.streams import HEALTH

pytestmark = [pytest.mark.service]

REFUSED = "connection refused: is the camera on, and the port right?"


def closed_port() -> int:
    """A port nothing listens on: every connection to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settings_for(camera_ids: list[str], port: int) -> Settings:
    cameras = [{"id": c, "name": c.title(), "url": f"rtsp://127.0.0.1:{port}/{c}"} for c in camera_ids]
    ingest = {"open_timeout_s": 2, "stall_timeout_s": 2, "backoff_initial_s": 0.2, "backoff_max_s": 0.5}
    return parse_settings({"cameras": cameras, "ingest": ingest})


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_camera_removed_by_a_reload_is_disabled_not_stopped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = closed_port()
    queue = open_queue("memory://")
    stage = IngestStage(settings_for(["stay", "gone"], port), queue)
    stop = threading.Event()
    thread = threading.Thread(target=stage.run, args=(stop,), daemon=True)
    with caplog.at_level(logging.INFO, logger="maskwatch.ingest"):
        thread.start()
        stay, gone = stage.watchdogs
        wait_for(lambda: stay.state == gone.state == "offline")
        # When the next try is, not in how long: the detail is read later, by status and alerts.
        assert re.search(r"; retry \d+ at \d\d:\d\d:\d\d UTC$", stay.detail), stay.detail
        assert stage.reconfigure(settings_for(["stay"], port)) == ([], ["gone"], [])
        assert (gone.state, gone.detail) == ("disabled", "removed from the configuration")
        stop.set()
        thread.join(15)
    assert not thread.is_alive()

    queue.ensure_group(HEALTH, "t")
    health = [CameraHealth.from_fields(d.fields) for d in queue.read("t", "t", [HEALTH], 10_000, 10)]
    said = {cam: [(h.state, h.detail) for h in health if h.camera_id == cam] for cam in ("stay", "gone")}
    assert "stopped" not in [state for state, _ in said["gone"]]
    assert said["gone"][-1] == ("disabled", "removed from the configuration")
    assert said["stay"][-1][0] == "stopped"  # a shutdown is still a shutdown
    assert said["stay"][-1][1].startswith(
        f"maskwatch stopped; the camera was offline: camera stay (rtsp://127.0.0.1:{port}"
    )
    gone_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("camera gone")]
    assert not [line for line in gone_lines if "maskwatch stopped" in line], gone_lines

    # What the record stage makes of those reports: the gap of the removed camera says so.
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    status = CameraStatus(parse_settings({}))
    with Session(engine) as s, s.begin():
        for cam in ("stay", "gone"):
            s.add(Camera(id=cam, name=cam.title(), url="rtsp://127.0.0.1/x", updated_at=utcnow()))
        s.flush()
        for h in health:
            cam_row = s.get(Camera, h.camera_id)
            assert cam_row is not None
            status.apply_health(s, cam_row, h)
    gaps = {g.camera_id: g for g in coverage_gaps(engine, dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))}
    assert gaps["gone"].end is not None and gaps["gone"].reason == f"{REFUSED}; then removed from the configuration"
    assert gaps["stay"].end is None and gaps["stay"].reason == f"{REFUSED}; then maskwatch stopped"
    engine.dispose()


def test_a_camera_changed_by_a_reload_is_restarting_not_stopped() -> None:
    port = closed_port()
    queue = open_queue("memory://")
    stage = IngestStage(settings_for(["cam"], port), queue)
    stop = threading.Event()
    thread = threading.Thread(target=stage.run, args=(stop,), daemon=True)
    thread.start()
    (old,) = stage.watchdogs
    wait_for(lambda: old.state == "offline")
    changed = settings_for(["cam"], port)
    changed = changed.model_copy(update={"cameras": [changed.cameras[0].model_copy(update={"sample_fps": 1.0})]})
    assert stage.reconfigure(changed) == ([], [], ["cam"])
    (new,) = stage.watchdogs
    wait_for(lambda: new.state == "offline")
    stop.set()
    thread.join(15)
    assert not thread.is_alive()

    queue.ensure_group(HEALTH, "t")
    said = [
        (h.state, h.detail)
        for h in (CameraHealth.from_fields(d.fields) for d in queue.read("t", "t", [HEALTH], 10_000, 10))
    ]
    restart = said.index(("connecting", "restarting with its new settings"))
    assert "stopped" not in [state for state, _ in said[:restart]]  # the reload stopped nothing
    assert said[-1][0] == "stopped"  # the shutdown at the end is still a shutdown
