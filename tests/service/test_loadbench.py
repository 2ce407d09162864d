"""The pipeline benchmark: its arithmetic, and one short real run (1 RTSP camera, all stages)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.bench.loadbench import BENCH_GOP_S, _quantile, camera_phases
from devtools.bench.pipeline_cli import is_live, most_live, ramp


def test_quantiles_interpolate_inside_the_bucket() -> None:
    # 10 observations: 4 at most 0.1 s, 8 at most 0.5 s, all at most 1 s.
    buckets = {0.1: 4.0, 0.5: 8.0, 1.0: 10.0, math.inf: 10.0}
    assert _quantile(buckets, 0.4) == pytest.approx(0.1)
    assert _quantile(buckets, 0.6) == pytest.approx(0.3)  # halfway from 0.1 to 0.5
    assert _quantile(buckets, 0.9) == pytest.approx(0.75)
    assert _quantile({0.1: 0.0, math.inf: 0.0}, 0.5) is None


@pytest.mark.service
@pytest.mark.shared
@pytest.mark.slow
def test_one_camera_through_the_whole_pipeline(shared: Path, redis_url: str, tmp_path: Path) -> None:
    from devtools.bench.loadbench import bench_clip, measure
    from maskwatch.config import parse_settings

    model = shared / "weights" / "face_detection_yunet_2023mar.onnx"
    settings = parse_settings(
        {"queue": {"url": redis_url}, "analyzer": {"detector": {"backend": "yunet", "model_path": str(model)}}}
    )
    clip = bench_clip(shared / "videos" / "woman-with-mask.mp4", tmp_path)
    result = measure(settings, clip, cameras=1, sample_fps=2, duration=6, workers=1, warmup=10)
    assert result.sustained, result
    assert result.settle_s < 1.5  # one camera leaves no start-up backlog to wait for
    assert 1.5 <= result.offered_fps <= 2.5 and abs(result.processed_fps - result.offered_fps) <= 0.5
    assert result.p95_result_latency_s is not None and result.p95_result_latency_s < 2
    assert set(result.cpu_by_stage) == {"ingest", "infer", "record", "rtsp-server"}
    assert all(mb > 10 for mb in result.peak_rss_mb.values())
    assert set(result.rss_growth_mb) == set(result.cpu_by_stage)


@pytest.mark.training
@pytest.mark.service
@pytest.mark.shared
@pytest.mark.slow
def test_the_naive_baseline_runs_on_the_same_streams(shared: Path, tmp_path: Path) -> None:
    from devtools.bench.loadbench import bench_clip, measure_baseline
    from maskwatch.config import parse_settings

    model = shared / "weights" / "face_detection_yunet_2023mar.onnx"
    settings = parse_settings({"analyzer": {"detector": {"backend": "yunet", "model_path": str(model)}}})
    clip = bench_clip(shared / "videos" / "woman-with-mask.mp4", tmp_path)
    result = measure_baseline(settings, clip, cameras=1, sample_fps=1, seconds=6)
    assert result.processed_fps > 0.5 and result.cpu > 0.1, result


@dataclass(frozen=True)
class _Run:
    cameras: int
    sustained: bool


@pytest.mark.parametrize(
    ("capacity", "most"), [(13, 64), (0, 64), (2, 64), (3, 64), (64, 64), (40, 24), (40, 30), (29, 30)]
)
def test_find_max_ramps_then_bisects_to_the_exact_largest_count(capacity: int, most: int) -> None:
    measured: list[int] = []

    def measure(k: int) -> _Run:
        measured.append(k)
        return _Run(k, k <= capacity)

    runs = ramp(measure, most, find_max=True)
    best = max((r.cameras for r in runs if r.sustained), default=0)
    assert best == min(capacity, most)
    assert [r.cameras for r in runs] == sorted(measured)  # each count measured once, reported in order
    assert len(measured) == len(set(measured))
    assert ramp(measure, 5, find_max=False) == [_Run(5, capacity >= 5)]


@dataclass(frozen=True)
class _TimedRun:
    cameras: int
    sustained: bool
    p95_result_latency_s: float | None


def test_live_count_needs_both_sustained_and_a_short_p95() -> None:
    runs = [
        _TimedRun(8, True, 0.3),
        _TimedRun(12, True, 1.9),
        _TimedRun(16, True, 2.25),  # sustained, but results come too late
        _TimedRun(20, True, None),  # no result latency measured
        _TimedRun(22, False, 1.0),  # quick while it lasted, but falling behind
    ]
    assert most_live(runs) == 12
    assert most_live(runs, p95_s=3.0) == 16
    assert most_live([_TimedRun(4, True, 2.0)]) == 0  # the limit itself is not under it


def test_cameras_start_their_groups_of_pictures_at_different_times() -> None:
    phases = camera_phases(20)
    assert phases == camera_phases(20)  # seeded: runs are comparable
    assert camera_phases(8) == phases[:8]  # a camera keeps its phase as the ramp adds cameras
    assert all(0 <= p < BENCH_GOP_S for p in phases)
    assert max(phases) - min(phases) > BENCH_GOP_S / 2  # spread over the group, not bunched


@pytest.mark.shared
def test_the_rtsp_servers_phase_holds_a_streams_first_keyframe_back(rtsp_server, shared: Path) -> None:
    import av

    clip = shared / "videos" / "woman-with-mask.mp4"
    server = rtsp_server([f"now={clip}", f"later={clip},phase=1.5"])
    first: dict[str, float] = {}

    def read(mount: str) -> None:
        with av.open(server.url(mount), options={"rtsp_transport": "tcp"}, timeout=10) as container:
            next(container.decode(video=0))
            first[mount] = time.monotonic()

    readers = [threading.Thread(target=read, args=(m,)) for m in ("now", "later")]
    for r in readers:
        r.start()
    for r in readers:
        r.join(20)
    assert 1.1 <= first["later"] - first["now"] <= 1.9, first


@pytest.mark.parametrize(("live", "capacity"), [(32, 41), (24, 27), (0, 3), (41, 41), (12, 64)])
def test_find_max_also_bisects_to_the_exact_largest_live_count(live: int, capacity: int) -> None:
    measured: list[int] = []

    def measure(k: int) -> _TimedRun:
        measured.append(k)
        return _TimedRun(k, k <= capacity, 0.5 if k <= live else 29.0)

    runs = ramp(measure, 64, find_max=True, also=is_live)
    assert most_live(runs) == live
    assert max((r.cameras for r in runs if r.sustained), default=0) == capacity
    assert [r.cameras for r in runs] == sorted(measured) and len(measured) == len(set(measured))
