"""Reloading the configuration of running processes: SIGHUP and a changed file."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.pipeline import Pipeline, fast_config, wait_until

pytestmark = [pytest.mark.service, pytest.mark.shared, pytest.mark.slow]


def test_sighup_adds_a_camera_without_touching_the_others_and_refuses_a_bad_file(
    rtsp_server: Any, shared: Path, redis_url: str, tmp_path: Path
) -> None:
    videos = shared / "videos"
    server = rtsp_server([f"a={videos / 'woman-with-mask.mp4'}", f"b={videos / 'man-without-mask.mp4'}"])
    cam_a = {"id": "a", "name": "A", "url": server.url("a"), "sample_fps": 1}
    cfg = fast_config(
        cameras=[cam_a],
        queue={"url": redis_url},
        database={"url": f"sqlite:///{tmp_path / 'r.db'}"},
        snapshots={"dir": str(tmp_path / "snaps")},
    )
    pipe = Pipeline(tmp_path, cfg)
    ingest = pipe.start("ingest")
    pipe.start("record")
    try:
        wait_until(lambda: pipe.camera("a").state == "online", 30, "camera a online")
        pipe.config_path.write_text(
            yaml.safe_dump({**cfg, "cameras": [cam_a, {**cam_a, "id": "b", "url": server.url("b")}]})
        )
        os.kill(ingest.pid, signal.SIGHUP)
        wait_until(lambda: pipe.camera("b").state == "online", 30, "camera b added and online")
        pipe.config_path.write_text("cameras: [{id: a, name: A, url: 'rtsp://x', sample_fps: -1}]\n")
        os.kill(ingest.pid, signal.SIGHUP)
        wait_until(lambda: "configuration reload refused" in pipe.log("ingest"), 10, "bad file refused")
        time.sleep(2)
        states_a = pipe.states("a")
        alive = pipe.alive()
        b = pipe.camera("b")
    finally:
        codes = pipe.stop()
    assert codes == dict.fromkeys(codes, 0), {n: pipe.log(n)[-2000:] for n in codes}
    assert alive == {"ingest": True, "record": True}
    assert states_a == ["connecting", "online"]  # one connection all along
    assert b.state == "online" and b.name == "A"
    assert "cameras.0.sample_fps" in pipe.log("ingest")
