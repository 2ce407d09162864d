"""Inference throughput with 1, 2, 3 ... worker processes sharing one Redis consumer group.

The same sampled frames (from a clip, through the real ingest reader) are queued at once over
several camera streams; the time until every frame is acknowledged gives frames per second.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import redis
import yaml

from maskwatch.config import CameraConfig, IngestConfig, Settings
from maskwatch.ingest.reader import CameraReader, StreamEnded
from maskwatch.messages import FrameMessage
from maskwatch.queue import open_queue
from maskwatch.streams import RESULTS, frames_stream


def sample_clip(clip: Path, sample_fps: float) -> list[FrameMessage]:
    frames: list[FrameMessage] = []
    camera = CameraConfig(id="clip", name="clip", url=str(clip), sample_fps=sample_fps, realtime=False)
    with contextlib.suppress(StreamEnded):  # the clip played to its end
        CameraReader(camera, IngestConfig(), frames.append).run(threading.Event())
    return frames


def _start_workers(n: int, config: Path, logdir: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(n):
        log = open(logdir / f"infer-{i}.log", "wb")  # noqa: SIM115 - lives as long as the process
        procs.append(
            subprocess.Popen([sys.executable, "-m", "maskwatch", "infer", "--config", str(config)], stderr=log)
        )
    deadline = time.monotonic() + 120
    while not all("stage infer started" in (logdir / f"infer-{i}.log").read_text() for i in range(n)):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise RuntimeError(f"inference workers did not start; see {logdir}")
        time.sleep(0.2)
    return procs


def run_scale_bench(
    settings: Settings, clip: Path, workers: list[int], frames: int, cameras: int, sample_fps: float = 2.0
) -> Iterator[str]:
    if not settings.queue.url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("the scale-out benchmark needs queue.url to be a Redis URL")
    sampled = sample_clip(clip, sample_fps)
    if not sampled:
        raise ValueError(f"{clip}: no frames")
    ids = [f"bench-{i}" for i in range(cameras)]
    work = Path(tempfile.mkdtemp(prefix="maskwatch-scale-"))
    config = settings.model_dump(mode="json")
    config["cameras"] = [{"id": cid, "name": cid, "url": str(clip)} for cid in ids]
    config["queue"]["results_maxlen"] = max(config["queue"]["results_maxlen"], 2 * frames)
    config["metrics"]["port"] = 0
    (work / "bench.yaml").write_text(yaml.safe_dump(config))
    client = redis.Redis.from_url(settings.queue.url)
    queue = open_queue(settings.queue.url)
    h, w = sampled[0].height, sampled[0].width
    detector = settings.analyzer.detector.backend
    yield f"scale-out: {frames} frames ({w}x{h}, from {clip.name}) over {cameras} camera streams, {detector}"
    yield f"{'workers':>7} {'frames/s':>9} {'speed-up':>9} {'seconds':>8}"
    base = None
    try:
        for n in workers:
            client.delete(*[frames_stream(c) for c in ids], RESULTS)
            procs = _start_workers(n, work / "bench.yaml", work)
            time.sleep(2.0)  # first interpreter calls warm up
            t0 = time.monotonic()
            for i in range(frames):
                f = sampled[i % len(sampled)]
                cam = ids[i % cameras]
                msg = FrameMessage(cam, i, time.time(), f.width, f.height, f.jpeg)
                queue.publish(frames_stream(cam), msg.to_fields(), 10 * frames)
            while sum(queue.backlog(frames_stream(c)) for c in ids) > 0:
                time.sleep(0.05)
            elapsed = time.monotonic() - t0
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(60)
            fps = frames / elapsed
            base = base or fps
            yield f"{n:>7} {fps:>9.1f} {fps / base:>8.2f}x {elapsed:>8.1f}"
    finally:
        client.delete(*[frames_stream(c) for c in ids], RESULTS)
        client.close()
        queue.close()
