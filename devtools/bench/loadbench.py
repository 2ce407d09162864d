"""The whole pipeline under load: K real RTSP cameras on loopback, the production stages as
separate processes over Redis, measured after a warm-up (`maskwatch bench --cameras K`).

Reports what an operator sizes hardware by: frames processed per second against those
offered, drops, capture-to-result latency, CPU seconds per second of each stage (and of the
RTSP server, kept apart), peak memory per process, and whether the load was sustained.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
import yaml
from prometheus_client.parser import text_string_to_metric_families

from devtools.clips import transcode_clip
from maskwatch.config import Settings
from maskwatch.streams import frames_stream

RTSP_SERVER = Path(__file__).resolve().parent.parent / "rtsp_server.py"
BENCH_GOP_S = 2.0  # the benchmark stream's keyframe interval
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class LoadResult:
    cameras: int
    sample_fps: float
    duration_s: float
    offered_fps: float
    processed_fps: float
    dropped_pct: float
    backlog_start: float
    backlog_end: float
    settle_s: float  # after the warm-up, until the start-up backlog was under 2 s of frames
    p50_result_latency_s: float | None
    p95_result_latency_s: float | None
    p99_result_latency_s: float | None
    p95_violation_commit_s: float | None
    cpu_by_stage: dict[str, float] = field(default_factory=dict)  # CPU seconds per second
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    # Per stage, the most any of its processes grew during the measured window: a leak shows here.
    rss_growth_mb: dict[str, float] = field(default_factory=dict)
    sustained: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _memory_mb(pid: int, key: str) -> float:
    """A /proc/PID/status memory figure: VmHWM (peak RSS) or VmRSS (now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def _sum(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def _buckets(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> dict[float, float]:
    out: dict[float, float] = {}
    for (n, labels), v in samples.items():
        if n == name + "_bucket":
            le = float(dict(labels)["le"])
            out[le] = out.get(le, 0.0) + v
    return out


def _quantile(counts: dict[float, float], q: float) -> float | None:
    """Prometheus-style: linear interpolation inside the bucket holding the q-th observation."""
    edges = sorted(counts)
    total = counts[edges[-1]] if edges else 0
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for edge in edges:
        if counts[edge] >= rank:
            if math.isinf(edge):
                return lower
            span = counts[edge] - below
            return lower + (edge - lower) * ((rank - below) / span if span else 1.0)
        lower, below = edge, counts[edge]
    return lower


def camera_phases(cameras: int, seed: int = 0) -> list[float]:
    """When each camera's groups of pictures start, uniform over one group, as independent encoders
    have it. Without this every stream would start at its client's connection, and ingest connects
    to all cameras at once: every camera would then sample within the same 40 ms of each second, a
    burst real cameras never send. Seeded, so that runs are comparable."""
    rng = random.Random(seed)
    return [round(rng.uniform(0.0, BENCH_GOP_S), 3) for _ in range(cameras)]


def start_rtsp_server(clip: Path, cameras: int) -> tuple[subprocess.Popen[str], int]:
    mounts = [f"cam{i}={clip},phase={phase}" for i, phase in enumerate(camera_phases(cameras))]
    server = subprocess.Popen(
        ["/usr/bin/python3", str(RTSP_SERVER), "--port", "0", *mounts],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("READY"):
        raise RuntimeError(f"RTSP server did not start ({line!r}); needs Debian's GStreamer RTSP packages")
    return server, int(line.split()[1])


class Pipeline:
    """RTSP server + ingest + N inference + recorder, each a process with its own metrics port."""

    def __init__(self, settings: Settings, clip: Path, cameras: int, sample_fps: float, workers: int, work: Path):
        self.work = work
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}
        server, rtsp_port = start_rtsp_server(clip, cameras)
        self.procs["rtsp-server"] = server  # type: ignore[assignment]
        base = settings.model_dump(mode="json")
        base["cameras"] = [
            {
                "id": f"cam{i}",
                "name": f"Camera {i}",
                "url": f"rtsp://127.0.0.1:{rtsp_port}/cam{i}",
                "sample_fps": sample_fps,
            }
            for i in range(cameras)
        ]
        self.frame_streams = [frames_stream(c["id"]) for c in base["cameras"]]
        base["database"] = {"url": f"sqlite:///{work / 'bench.db'}"}
        base["snapshots"]["dir"] = str(work / "snapshots")
        base["alerts"] = {}
        stages = ["record", *[f"infer-{i}" for i in range(workers)], "ingest"]
        for name in stages:
            cfg = json.loads(json.dumps(base))
            port = _free_port()
            cfg["metrics"] = {"port": port, "address": "127.0.0.1"}
            path = work / f"{name}.yaml"
            path.write_text(yaml.safe_dump(cfg))
            self.ports[name] = port
            log = open(work / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
            stage = name.split("-")[0]
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "maskwatch", stage, "--config", str(path)], stderr=log, env=env
            )
            if stage == "record":
                time.sleep(2)  # consumer groups first

    def snapshot(self) -> dict[str, Any]:
        return {
            "at": time.monotonic(),
            "cpu": {name: _cpu_seconds(p.pid) for name, p in self.procs.items()},
            "rss": {name: _memory_mb(p.pid, "VmRSS") for name, p in self.procs.items()},
            "metrics": {name: _scrape(port) for name, port in self.ports.items()},
        }

    def stop(self) -> dict[str, float]:
        rss = {name: _memory_mb(p.pid, "VmHWM") for name, p in self.procs.items() if p.poll() is None}
        for p in self.procs.values():
            p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        return rss


def _stage(name: str) -> str:
    return name.split("-")[0] if name != "rtsp-server" else name


def _largest_by_stage(per_process: dict[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in per_process.items():
        stage = _stage(name)
        out[stage] = max(out.get(stage, value), value)
    return out


def _settle(client: redis.Redis, streams: list[str], bound: float, limit_s: float) -> float:
    """Waits until the camera streams hold at most `bound` frames, or `limit_s`; returns the wait.

    Cameras send from the first second while inference workers still load their models, so a
    start leaves a backlog that a pipeline near its capacity drains slowly: measuring it would
    measure the start, not whether the load is sustained."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s and sum(int(client.xlen(s)) for s in streams) > bound:
        time.sleep(1)
    return time.monotonic() - start


def measure(
    settings: Settings,
    clip: Path,
    cameras: int,
    sample_fps: float,
    duration: float,
    workers: int,
    warmup: float = 20.0,
) -> LoadResult:
    work = Path(tempfile.mkdtemp(prefix="maskwatch-load-"))
    client = redis.Redis.from_url(settings.queue.url)
    client.flushdb()
    pipe = Pipeline(settings, clip, cameras, sample_fps, workers, work)
    offered = cameras * sample_fps
    try:
        time.sleep(warmup)
        settle = _settle(client, pipe.frame_streams, 2 * offered, 2 * warmup)
        a = pipe.snapshot()
        time.sleep(duration)
        b = pipe.snapshot()
    finally:
        rss = pipe.stop()
        client.flushdb()
        client.close()
    span = b["at"] - a["at"]
    infer = [n for n in b["metrics"] if n.startswith("infer")]

    def delta(name: str, procs: list[str]) -> float:
        return sum(_sum(b["metrics"][p], name) - _sum(a["metrics"][p], name) for p in procs)

    sent = delta("maskwatch_frames_sent_total", ["ingest"])
    dropped = delta("maskwatch_frames_dropped_total", ["ingest"])
    processed = delta("maskwatch_frames_analyzed_total", infer)
    lat = {
        le: sum(_buckets(b["metrics"][p], "maskwatch_result_latency_seconds").get(le, 0) for p in infer)
        - sum(_buckets(a["metrics"][p], "maskwatch_result_latency_seconds").get(le, 0) for p in infer)
        for le in _buckets(b["metrics"][infer[0]], "maskwatch_result_latency_seconds")
    }
    backlog = [max((_sum(s["metrics"][p], "maskwatch_frames_backlog") for p in infer), default=0.0) for s in (a, b)]
    cpu: dict[str, float] = {}
    for name in b["cpu"]:
        cpu[_stage(name)] = cpu.get(_stage(name), 0.0) + (b["cpu"][name] - a["cpu"][name]) / span
    peak = _largest_by_stage(rss)
    growth = _largest_by_stage({name: b["rss"][name] - a["rss"][name] for name in b["rss"]})
    commits = _violation_commit_latencies(work / "bench.db")
    dropped_pct = 100 * dropped / sent if sent else 0.0
    result = LoadResult(
        cameras=cameras,
        sample_fps=sample_fps,
        duration_s=round(span, 1),
        offered_fps=round(sent / span, 2),
        processed_fps=round(processed / span, 2),
        dropped_pct=round(dropped_pct, 2),
        backlog_start=backlog[0],
        backlog_end=backlog[1],
        settle_s=round(settle, 1),
        p50_result_latency_s=_round(_quantile(lat, 0.5)),
        p95_result_latency_s=_round(_quantile(lat, 0.95)),
        p99_result_latency_s=_round(_quantile(lat, 0.99)),
        p95_violation_commit_s=_round(commits[int(0.95 * (len(commits) - 1))] if commits else None),
        cpu_by_stage={k: round(v, 3) for k, v in sorted(cpu.items())},
        peak_rss_mb={k: round(v, 1) for k, v in sorted(peak.items())},
        rss_growth_mb={k: round(v, 1) for k, v in sorted(growth.items())},
    )
    # Sustained: (almost) nothing dropped, the queue did not grow beyond ~2 s of frames, and ingest
    # kept up with the cameras (give or take the one frame per camera the window's edges can cut).
    result.sustained = (
        dropped_pct < 1.0 and backlog[1] <= max(backlog[0], 2 * offered) + 8 and sent + cameras >= 0.9 * offered * span
    )
    return result


@dataclass
class BaselineResult:
    cameras: int
    processed_fps: float  # sampled frames fully processed per second, all cameras
    max_lag_s: float  # how far the slowest camera fell behind the live stream
    cpu: float  # CPU seconds per second, all camera processes
    sustained: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def measure_baseline(settings: Settings, clip: Path, cameras: int, sample_fps: float, seconds: float) -> BaselineResult:
    """K naive camera processes (devtools.bench.baseline) on the same RTSP streams."""
    server, port = start_rtsp_server(clip, cameras)
    detector = settings.analyzer.detector.model_dump_json()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devtools.bench.baseline",
                f"rtsp://127.0.0.1:{port}/cam{i}",
                str(sample_fps),
                str(seconds),
                detector,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        for i in range(cameras)
    ]
    outputs = []
    try:
        for p in procs:
            out, _ = p.communicate(timeout=seconds + 300)
            outputs.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)
    elapsed = max(o["elapsed_s"] for o in outputs)
    cpu = sum(o["cpu_s"] for o in outputs) / elapsed  # the camera loops only, not loading TensorFlow
    processed = sum(o["sampled"] for o in outputs) / elapsed
    lag = max(0.0, *(o["lag_s"] for o in outputs))
    offered = cameras * sample_fps
    return BaselineResult(
        cameras, round(processed, 2), round(lag, 2), round(cpu, 2), lag <= 2.0 and processed >= 0.9 * offered
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _violation_commit_latencies(db: Path) -> list[float]:
    """Seconds from the capture of the frame that confirmed a violation to its row's commit."""
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT confirmed_at, created_at FROM violations").fetchall()
    from datetime import datetime

    out = sorted((datetime.fromisoformat(str(c2)) - datetime.fromisoformat(str(c1))).total_seconds() for c1, c2 in rows)
    return out


def bench_clip(source: Path, out_dir: Path) -> Path:
    """The benchmark stream: 1280x720, 25 fps, H.264, keyframe every 2 s (made once, then reused)."""
    clip = out_dir / f"{source.stem}-720p25-gop2s.mp4"
    if not clip.exists():
        transcode_clip(source, clip, (1280, 720), 25, BENCH_GOP_S)
    return clip


def table(results: list[LoadResult]) -> Iterator[str]:
    yield (
        f"{'cameras':>7} {'offered/s':>9} {'done/s':>7} {'drop %':>6} {'p50 s':>6} {'p95 s':>6} {'p99 s':>6} "
        f"{'ingest':>6} {'infer':>6} {'record':>6} {'rtsp':>6} {'mem+ MB':>7} {'settle s':>8} {'sustained':>9}"
    )
    for r in results:
        c = r.cpu_by_stage
        yield (
            f"{r.cameras:>7} {r.offered_fps:>9.1f} {r.processed_fps:>7.1f} {r.dropped_pct:>6.1f} "
            f"{_fmt(r.p50_result_latency_s)} {_fmt(r.p95_result_latency_s)} {_fmt(r.p99_result_latency_s)} "
            f"{c.get('ingest', 0):>6.2f} {c.get('infer', 0):>6.2f} {c.get('record', 0):>6.2f} "
            f"{c.get('rtsp-server', 0):>6.2f} {_most_growth(r):>7.1f} {r.settle_s:>8.0f} "
            f"{'yes' if r.sustained else 'NO':>9}"
        )


def _most_growth(r: LoadResult) -> float:
    """The largest RSS growth of a maskwatch process in the window (the RTSP server is not ours)."""
    return max((mb for stage, mb in r.rss_growth_mb.items() if stage != "rtsp-server"), default=0.0)


def _fmt(value: float | None) -> str:
    return f"{value:>6.2f}" if value is not None else f"{'-':>6}"
