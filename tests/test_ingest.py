"""Ingest against a real RTSP server on 127.0.0.1 serving real H.264."""

import itertools
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.stage import IngestStage
from maskwatch.config import Settings, parse_settings
from maskwatch.messages import CameraHealth, FrameMessage
from maskwatch.queue import Queue, open_queue
from maskwatch.streams import HEALTH, frames_stream

pytestmark = [pytest.mark.service, pytest.mark.shared]


def settings_for(cameras: list[dict], **ingest: float) -> Settings:
    cfg = {"open_timeout_s": 3, "stall_timeout_s": 3, "backoff_initial_s": 0.3, "backoff_max_s": 2, **ingest}
    return parse_settings({"cameras": cameras, "ingest": cfg, "queue": {"frames_maxlen": 1000}})


class Running:
    def __init__(self, settings: Settings, queue: Queue | None = None) -> None:
        self.queue = queue or open_queue("memory://")
        self.stage = IngestStage(settings, self.queue)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.stage.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def wait_for(self, condition: Callable[[], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.05)

    def health(self) -> list[CameraHealth]:
        self.queue.ensure_group(HEALTH, "t")
        return [CameraHealth.from_fields(d.fields) for d in self.queue.read("t", "t", [HEALTH], 10_000, 10)]

    def frames(self, camera: str) -> list[FrameMessage]:
        self.queue.ensure_group(frames_stream(camera), "t")
        return [
            FrameMessage.from_fields(d.fields) for d in self.queue.read("t", "t", [frames_stream(camera)], 10_000, 10)
        ]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(15)
        assert not self.thread.is_alive()


def video(shared: Path, name: str) -> str:
    return str(shared / "videos" / name)


def test_samples_rtsp_at_configured_rate(rtsp_server, shared: Path) -> None:
    server = rtsp_server([f"w={video(shared, 'woman-with-mask.mp4')}"])
    run = Running(settings_for([{"id": "w", "name": "W", "url": server.url("w"), "sample_fps": 4}]))
    dog = run.stage.watchdogs[0]
    run.wait_for(lambda: dog.frames_sent >= 12)
    run.close()
    frames = run.frames("w")
    assert [f.seq for f in frames] == list(range(len(frames)))
    gaps = [b.captured_at - a.captured_at for a, b in itertools.pairwise(frames)]
    assert 0.2 <= sum(gaps) / len(gaps) <= 0.3  # 4 fps from stream timestamps
    assert (frames[0].width, frames[0].height) == (720, 404)
    assert frames[0].jpeg[:2] == b"\xff\xd8"
    assert "online" in [h.state for h in run.health()]


def test_frozen_stream_is_detected_and_restarted(rtsp_server, shared: Path) -> None:
    server = rtsp_server([f"f={video(shared, 'man-without-mask.mp4')}:freeze=1.5"])
    run = Running(settings_for([{"id": "f", "name": "F", "url": server.url("f")}], stall_timeout_s=2))
    run.wait_for(lambda: any(h.state == "stalled" for h in run.health()) or run.stage.watchdogs[0].state == "stalled")
    run.wait_for(lambda: run.stage.watchdogs[0].state == "online")  # the restart reconnects
    run.close()


def test_server_death_and_return(rtsp_server, shared: Path, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clip = f"w={video(shared, 'woman-with-mask.mp4')}"
    server = rtsp_server([clip], port=port)
    url = server.url("w").replace("rtsp://", "rtsp://viewer:hunter2@")
    run = Running(settings_for([{"id": "w", "name": "W", "url": url}]))
    dog = run.stage.watchdogs[0]
    run.wait_for(lambda: dog.state == "online")
    server.stop()
    run.wait_for(lambda: dog.state == "offline" and "refused" in dog.detail)
    sent = dog.frames_sent
    rtsp_server([clip], port=port)
    run.wait_for(lambda: dog.state == "online" and dog.frames_sent > sent)
    run.close()
    texts = [r.getMessage() for r in caplog.records] + [h.detail for h in run.health()]
    assert not any("hunter2" in t for t in texts)
    assert any("viewer:***@" in t for t in texts)


def test_wrong_path_is_reported_and_other_cameras_keep_running(rtsp_server, shared: Path) -> None:
    server = rtsp_server([f"w={video(shared, 'woman-with-mask.mp4')}"])
    run = Running(
        settings_for(
            [{"id": "bad", "name": "Bad", "url": server.url("nope")}, {"id": "w", "name": "W", "url": server.url("w")}]
        )
    )
    bad, good = run.stage.watchdogs
    run.wait_for(lambda: "not found (404)" in bad.detail and good.frames_sent >= 3)
    run.close()


def test_full_queue_drops_oldest_and_counts(rtsp_server, shared: Path) -> None:
    server = rtsp_server([f"w={video(shared, 'woman-with-mask.mp4')}"])
    settings = settings_for([{"id": "w", "name": "W", "url": server.url("w"), "sample_fps": 10}])
    settings = settings.model_copy(update={"queue": settings.queue.model_copy(update={"frames_maxlen": 5})})
    run = Running(settings)
    dog = run.stage.watchdogs[0]
    run.wait_for(lambda: dog.frames_sent >= 15)
    run.close()
    assert run.queue.backlog(frames_stream("w")) == 5
    assert dog.frames_dropped == dog.frames_sent - 5
