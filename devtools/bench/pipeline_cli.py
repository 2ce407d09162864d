"""`maskwatch bench --cameras K`: the whole pipeline under load, and optionally the naive baseline."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO, TypeVar

from maskwatch.config import Settings

if TYPE_CHECKING:
    from devtools.bench.loadbench import BaselineResult

RAMP = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64)
# "Sustained" only asks that the queue stops growing: a load that drains its start-up backlog
# slowly passes with a p95 of 30 s. Operators also want results while the person is still there.
LIVE_P95_S = 2.0


@dataclass(frozen=True)
class BenchOptions:
    """The options of `maskwatch bench` (its --help describes each)."""

    image: Path | None = None
    detector_model: Path | None = None
    ingest: str | None = None
    sample_fps: float = 1.0
    seconds: float = 20.0
    scale_out: bool = False
    workers: str = "1,2,3"
    frames: int = 240
    streams: int = 8
    clip: Path = Path("../shared/videos/four-people-putting-on-masks.mp4")
    cameras: int | None = None
    duration: float = 30.0
    warmup: float = 20.0
    find_max: bool = False
    redis: str = "redis://127.0.0.1:6379/13"
    infer_processes: int | None = None
    baseline: bool = False
    as_json: bool = False  # the report as JSON on standard output, the tables on standard error
    out: Path | None = None  # the report as a JSON file


class _Run(Protocol):
    @property
    def cameras(self) -> int: ...
    @property
    def sustained(self) -> bool: ...


R = TypeVar("R", bound=_Run)


def ramp(measure: Callable[[int], R], most: int, find_max: bool, also: Callable[[R], bool] | None = None) -> list[R]:
    """`most` cameras only, or (find_max) up the ramp until a load is not sustained, then bisect
    between the last load sustained and the first not: the exact largest count, so that a ratio
    of two maxima does not depend on where the ramp's steps happen to fall. `also`: a stricter
    test (results on time), whose largest count passing is then bisected the same way."""
    if not find_max:
        return [measure(most)]
    runs: list[R] = []
    for k in [k for k in RAMP if k < most] + [most]:  # `most` itself is always tried
        runs.append(measure(k))
        if not runs[-1].sustained:
            break
    _bisect(measure, runs, lambda r: r.sustained)
    if also is not None:
        _bisect(measure, runs, also)
    return sorted(runs, key=lambda r: r.cameras)


def _bisect(measure: Callable[[int], R], runs: list[R], passes: Callable[[R], bool]) -> None:
    """Measure (appending to `runs`) between the most cameras that passed and the fewest above them
    that did not, until the two are adjacent."""
    low = max((r.cameras for r in runs if passes(r)), default=0)
    high = min((r.cameras for r in runs if r.cameras > low and not passes(r)), default=None)
    while high is not None and high - low > 1:
        middle = (low + high) // 2
        runs.append(measure(middle))
        low, high = (middle, high) if passes(runs[-1]) else (low, middle)


class _TimedRun(_Run, Protocol):
    @property
    def p95_result_latency_s(self) -> float | None: ...


def is_live(run: _TimedRun, p95_s: float = LIVE_P95_S) -> bool:
    """Sustained, with p95 capture-to-result under `p95_s`."""
    return run.sustained and run.p95_result_latency_s is not None and run.p95_result_latency_s < p95_s


def most_live(runs: Sequence[_TimedRun], p95_s: float = LIVE_P95_S) -> int:
    """The most cameras among the loads tried that were live (`is_live`)."""
    return max((r.cameras for r in runs if is_live(r, p95_s)), default=0)


def bench_pipeline(args: BenchOptions, settings: Settings) -> int:
    import json

    from devtools.bench.loadbench import LoadResult, bench_clip, measure, measure_baseline, table
    from devtools.machine import describe_cpu

    settings = settings.model_copy(update={"queue": settings.queue.model_copy(update={"url": args.redis})})
    clip = bench_clip(args.clip, Path("runs/bench"))
    workers = args.infer_processes or os.cpu_count() or 1
    text = sys.stderr if args.as_json else sys.stdout  # with --json, standard output is the JSON alone

    def pipeline(k: int) -> LoadResult:
        print(f"# {k} camera(s): {args.warmup:g} s warm-up, {args.duration:g} s measured", file=sys.stderr, flush=True)
        return measure(settings, clip, k, args.sample_fps, args.duration, workers, args.warmup)

    def baseline(k: int) -> BaselineResult:
        print(f"# baseline, {k} camera(s): {args.duration:g} s", file=sys.stderr, flush=True)
        return measure_baseline(settings, clip, k, args.sample_fps, args.duration)

    results = ramp(pipeline, args.cameras or 1, args.find_max, also=is_live)
    for line in table(results):
        print(line, file=text)
    best = max((r.cameras for r in results if r.sustained), default=0)
    live = most_live(results)
    print(
        f"max cameras sustained: {best}; with p95 capture-to-result under {LIVE_P95_S:g} s: {live} "
        f"({settings.analyzer.detector.backend}, {workers} inference process(es))",
        file=text,
    )
    report: dict[str, object] = {
        "machine": describe_cpu(),
        "max_sustained": best,
        "max_sustained_p95_under_2s": live,
        "runs": [r.to_json() for r in results],
    }
    if args.baseline:  # the naive scripts on the same streams, ramped the same way
        report.update(_baseline(ramp(baseline, args.cameras or 1, args.find_max), best, text))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))
    if args.as_json:
        print(json.dumps(report, indent=1))
    return 0


def _baseline(base_runs: Sequence[BaselineResult], best: int, text: TextIO) -> dict[str, object]:
    """Print the baseline's runs beside maskwatch's best; what the report adds about them."""
    print(f"{'baseline cameras':>16} {'frames/s':>9} {'max lag s':>10} {'cpu s/s':>8} {'sustained':>9}", file=text)
    for b in base_runs:
        ok = "yes" if b.sustained else "NO"
        print(f"{b.cameras:>16} {b.processed_fps:>9.1f} {b.max_lag_s:>10.1f} {b.cpu:>8.2f} {ok:>9}", file=text)
    base_best = max((b.cameras for b in base_runs if b.sustained), default=0)
    ratio = best / base_best if base_best else float("inf")
    print(f"baseline max cameras sustained: {base_best}; maskwatch / baseline: {ratio:.1f}x", file=text)
    return {"baseline_max_sustained": base_best, "baseline_runs": [b.to_json() for b in base_runs], "ratio": ratio}
