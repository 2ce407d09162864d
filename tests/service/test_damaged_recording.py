"""A recording with a damaged stretch plays on past it, once: nothing it sent is sent again."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from devtools.demo_media import write_demo_clip
from maskwatch.config import parse_settings
from maskwatch.ingest.stage import IngestStage
from maskwatch.messages import FrameMessage
from maskwatch.queue import open_queue
from maskwatch.streams import frames_stream

SECONDS, FPS = 12, 5


def damaged_clip(tmp_path: Path) -> Path:
    """The demo clip with a tenth of its bytes overwritten a third of the way in (the index intact)."""
    clip = write_demo_clip(tmp_path / "clip.mp4", seconds=SECONDS)
    data = bytearray(clip.read_bytes())
    start, size = len(data) // 3, len(data) // 10
    data[start : start + size] = os.urandom(size)
    clip.write_bytes(bytes(data))
    return clip


def test_a_damaged_recording_plays_on_past_the_damage_and_never_replays(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clip = damaged_clip(tmp_path)
    settings = parse_settings(
        {
            "cameras": [{"id": "rec", "name": "Recording", "url": str(clip), "sample_fps": FPS, "realtime": False}],
            "queue": {"frames_maxlen": 10_000},
        }
    )
    queue = open_queue("memory://")
    stage = IngestStage(settings, queue)
    stop = threading.Event()
    thread = threading.Thread(target=stage.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not stage.all_finished() and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    thread.join(10)
    assert stage.all_finished(), "the recording never ended"

    queue.ensure_group(frames_stream("rec"), "check")
    frames = [FrameMessage.from_fields(d.fields) for d in queue.read("check", "t", [frames_stream("rec")], 10_000, 100)]
    times = [f.captured_at for f in frames]
    assert times == sorted(times) and len(set(times)) == len(times)  # nothing sent twice
    assert len(frames) <= SECONDS * FPS + 1
    assert max(times) - min(times) > SECONDS * 0.75  # it read on past the damage to the end
    (watchdog,) = stage.watchdogs
    assert watchdog.state == "finished" and "damaged packets skipped" in watchdog.detail
    assert any("damaged data" in r.getMessage() for r in caplog.records)
