"""What one camera costs the ingest stage: CPU per camera for each decode mode, measured on a
real source (a file played at its own pace, or a live RTSP URL)."""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from maskwatch.config import CameraConfig, IngestConfig, MotionConfig
from maskwatch.ingest.reader import CameraReader, SourceError, StreamEnded
from maskwatch.messages import FrameMessage


@dataclass(frozen=True)
class IngestCost:
    mode: str
    seconds: float
    core_pct: float  # CPU time / wall time, in % of one core
    frames_decoded: int
    frames_sent: int


MODES: dict[str, dict[str, object]] = {
    "decode every frame": {"decode": "all"},
    "auto (the default)": {"decode": "auto"},
    "key frames only": {"decode": "keyframes"},
    "every frame + motion gate": {"decode": "all", "motion": MotionConfig()},
    "key frames + motion gate": {"decode": "keyframes", "motion": MotionConfig()},
}


WARMUP_S = 12.0


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(url: str, sample_fps: float, seconds: float, mode: str) -> IngestCost:
    camera = CameraConfig.model_validate(
        {"id": "bench", "name": "bench", "url": url, "sample_fps": sample_fps, **MODES[mode]}
    )
    sent: list[int] = []

    def publish(frame: FrameMessage) -> None:
        sent.append(len(frame.jpeg))

    reader = CameraReader(camera, IngestConfig(), publish)
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            reader.run(stop)
        except (StreamEnded, SourceError) as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    # The first seconds of a connection are not its steady state: `auto` checks the stream's
    # B-frames with a second decoder (5 s on the benchmark stream) before it skips them.
    thread.join(WARMUP_S)
    cpu0, wall0, decoded0, sent0 = _cpu_s(), time.monotonic(), reader.counters.decoded, len(sent)
    thread.join(seconds)
    stop.set()
    thread.join(10)
    wall = time.monotonic() - wall0
    cpu = _cpu_s() - cpu0
    if errors and not sent:
        raise SourceError(str(errors[0]))
    return IngestCost(mode, wall, 100 * cpu / wall, reader.counters.decoded - decoded0, len(sent) - sent0)


def run_ingest_bench(url: str, sample_fps: float, seconds: float) -> Iterator[str]:
    yield (
        f"ingest cost per camera: {url}, sample_fps {sample_fps:g}, {seconds:g} s per mode after "
        f"{WARMUP_S:g} s of reading (one process, one camera)"
    )
    yield f"{'mode':<28} {'% of a core':>11} {'decoded':>8} {'sent':>6}"
    for mode in MODES:
        c = measure(url, sample_fps, seconds, mode)
        yield f"{c.mode:<28} {c.core_pct:>10.1f}% {c.frames_decoded:>8} {c.frames_sent:>6}"
