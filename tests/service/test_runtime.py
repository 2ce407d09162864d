"""The embedded runtime: all stages in one process, drained in order, with metrics served."""

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devtools.demo_media import write_demo_clip
from maskwatch.app.runtime import Runtime
from maskwatch.config import parse_settings
from maskwatch.messages import FrameMessage
from maskwatch.streams import frames_stream


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_embedded_run_drains_and_serves_metrics(tmp_path: Path) -> None:
    clip = write_demo_clip(tmp_path / "clip.mp4", seconds=4)
    port = free_port()
    settings = parse_settings(
        {
            "cameras": [{"id": "rt-cam", "name": "Clip", "url": str(clip), "sample_fps": 5, "realtime": False}],
            "database": {"url": f"sqlite:///{tmp_path / 'rt.db'}"},
            "snapshots": {"dir": str(tmp_path / "snaps")},
            "metrics": {"port": port},
        }
    )
    runtime = Runtime(settings)
    runtime.start()
    base = f"http://127.0.0.1:{port}"
    live, ready = httpx.get(f"{base}/healthz", timeout=5), httpx.get(f"{base}/readyz", timeout=5)
    assert live.status_code == 200 and ready.status_code == 200, (live.text, ready.text)
    assert ready.json()["queue"] == "ok" and ready.json()["database"] == "ok"
    assert runtime.wait(threading.Event(), until_sources_finish=True) == 0
    assert not any(r.alive for r in runtime.running)
    assert httpx.get(f"{base}/healthz", timeout=5).status_code == 503  # stages stopped

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    sent = samples[("maskwatch_frames_sent_total", (("camera", "rt-cam"),))]
    assert sent >= 15  # 4 s at 5 fps
    assert samples[("maskwatch_frames_dropped_total", (("camera", "rt-cam"),))] == 0
    assert samples[("maskwatch_frames_analyzed_total", ())] >= sent  # every queued frame was analyzed before exit
    violations = sum(
        v
        for (name, labels), v in samples.items()
        if name == "maskwatch_violations_total" and ("camera", "rt-cam") in labels
    )
    assert violations == 2  # no mask, and mask on the chin; the person putting a mask on is not flagged


@pytest.mark.service
def test_a_lone_stage_stops_promptly_with_its_input_still_full(tmp_path: Path, redis_url: str) -> None:
    settings = parse_settings(
        {
            "cameras": [{"id": "busy", "name": "Busy", "url": "rtsp://127.0.0.1:1/x"}],
            "queue": {"url": redis_url},
            "inference": {"batch_frames": 1},
        }
    )
    runtime = Runtime(settings, ("infer",))
    runtime.start()
    for i in range(200):  # far more than it can do before the stop arrives
        runtime.queue.publish(frames_stream("busy"), FrameMessage("busy", i, i, 8, 8, b"x").to_fields(), 1000)
    stop = threading.Event()
    stop.set()
    t0 = time.monotonic()
    runtime.wait(stop)
    assert time.monotonic() - t0 < 10


def test_json_logs_carry_the_camera_as_a_field(capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import logging

    from maskwatch.config import LoggingConfig
    from maskwatch.logs import camera, setup_logging

    setup_logging(LoggingConfig(format="json"))
    try:
        logging.getLogger("maskwatch.ingest.watchdog").warning("camera %s: offline", "gate-2", extra=camera("gate-2"))
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        setup_logging()
    assert line["message"] == "camera gate-2: offline" and line["camera_id"] == "gate-2"
    assert line["level"] == "WARNING" and line["logger"] == "maskwatch.ingest.watchdog" and "time" in line


class _Exploding:
    """A stage whose loop raises, as a bug or an unexpected error would make it."""

    def run(self, stop: threading.Event) -> None:
        raise RuntimeError("boom")

    def reconfigure(self, settings: object) -> None:
        pass

    def drained(self) -> bool:
        return True


def test_a_stage_that_dies_makes_the_process_exit_non_zero(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from maskwatch.app import registry

    monkeypatch.setitem(registry.STAGES, "alerts", lambda _resources: _Exploding())
    runtime = Runtime(parse_settings({}), ("alerts",))
    runtime.start()
    t0 = time.monotonic()
    assert runtime.wait(threading.Event()) == 1  # not asked to stop: the dead stage ends the run
    assert time.monotonic() - t0 < 10
    assert runtime.failures == {"alerts": "failed: boom"}
    assert any("stage alerts failed: boom" in r.getMessage() for r in caplog.records)


def test_frames_left_in_the_in_memory_queue_at_shutdown_fail_the_run() -> None:
    settings = parse_settings(
        {"cameras": [{"id": "busy", "name": "Busy", "url": "rtsp://127.0.0.1:1/x"}], "inference": {"batch_frames": 1}}
    )
    runtime = Runtime(settings, ("infer",), grace_s=0)
    runtime.start()
    for i in range(200):  # far more than it can do before the stop arrives
        runtime.queue.publish(frames_stream("busy"), FrameMessage("busy", i, i, 8, 8, b"x").to_fields(), 1000)
    stop = threading.Event()
    stop.set()
    assert runtime.wait(stop) == 1
    assert "lost at shutdown" in runtime.failures["queue"]
