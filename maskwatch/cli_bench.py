"""`maskwatch bench --cameras K`: the whole pipeline under load, and optionally the naive baseline."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from maskwatch.config import Settings


def bench_pipeline(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from maskwatch.loadbench import bench_clip, measure, measure_baseline, table

    settings = settings.model_copy(update={"queue": settings.queue.model_copy(update={"url": args.redis})})
    clip = bench_clip(args.clip, Path("runs/bench"))
    workers = args.infer_processes or os.cpu_count() or 1
    results = []
    counts = [args.cameras]
    if args.find_max:  # ramp up until a load is not sustained
        counts = [k for k in (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64) if k <= args.cameras] or [args.cameras]
    for k in counts:
        print(f"# {k} camera(s): {args.warmup:g} s warm-up, {args.duration:g} s measured", file=sys.stderr, flush=True)
        result = measure(settings, clip, k, args.sample_fps, args.duration, workers, args.warmup)
        results.append(result)
        if args.find_max and not result.sustained:
            break
    for line in table(results):
        print(line)
    best = max((r.cameras for r in results if r.sustained), default=0)
    print(f"max cameras sustained: {best} ({settings.analyzer.detector.backend}, {workers} inference process(es))")
    report: dict[str, object] = {"max_sustained": best, "runs": [r.to_json() for r in results]}
    if args.baseline:  # the naive scripts on the same streams, ramped the same way
        base_runs = []
        for k in counts:
            print(f"# baseline, {k} camera(s): {args.duration:g} s", file=sys.stderr, flush=True)
            base_runs.append(measure_baseline(settings, clip, k, args.sample_fps, args.duration))
            if not base_runs[-1].sustained:
                break
        print(f"{'baseline cameras':>16} {'frames/s':>9} {'max lag s':>10} {'cpu s/s':>8} {'sustained':>9}")
        for b in base_runs:
            ok = "yes" if b.sustained else "NO"
            print(f"{b.cameras:>16} {b.processed_fps:>9.1f} {b.max_lag_s:>10.1f} {b.cpu:>8.2f} {ok:>9}")
        base_best = max((b.cameras for b in base_runs if b.sustained), default=0)
        ratio = best / base_best if base_best else float("inf")
        print(f"baseline max cameras sustained: {base_best}; maskwatch / baseline: {ratio:.1f}x")
        report.update(baseline_max_sustained=base_best, baseline_runs=[b.to_json() for b in base_runs], ratio=ratio)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1))
    return 0
