"""Model and data commands of the `maskwatch` CLI: detect, evaluate, calibrate, train, models fetch,
and the benchmarks."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from maskwatch.app.cli_base import command, group
from maskwatch.app.shared import (
    config_option,
    detector_options,
    devtools_missing,
    json_option,
    out_option,
    settings_with_detector,
    write_out,
)
from maskwatch.errors import MaskwatchError

_DIR = click.Path(path_type=Path, file_okay=False)
_FILE = click.Path(path_type=Path, dir_okay=False)


@command("detect", short_help="Find faces and classify masks in images or folders.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="PATH...")
@json_option
@out_option("the results as JSON")
@click.option("--annotate", type=_DIR, metavar="DIR", help="Write annotated copies of the images here.")
@config_option
@detector_options
def detect(
    paths: tuple[Path, ...],
    as_json: bool,
    out: Path | None,
    annotate: Path | None,
    config: Path | None,
    detector: str | None,
    detector_model: Path | None,
) -> int:
    """Find faces and classify masks in images or folders (recursively). One line per image on
    standard output; with --json, the results as JSON there instead (the lines go to standard error).
    Exit status 1 when an input could not be read (the others are still done)."""
    from maskwatch.inference.analyzer import FaceAnalyzer
    from maskwatch.inference.detect_images import detect_images

    analyzer = FaceAnalyzer(settings_with_detector(config, detector, detector_model).analyzer)
    lines = sys.stderr if as_json else sys.stdout
    with contextlib.redirect_stdout(lines):
        report = detect_images(analyzer, list(paths), annotate_dir=annotate)
    results = json.dumps(report.results, indent=1) + "\n"
    if out is not None:
        write_out(out, results)
    if as_json:
        sys.stdout.write(results)
    return 1 if report.failed else 0


@command("evaluate", short_help="AP, recall and accuracy over a PASCAL VOC data set.")
@click.option("--voc", type=_DIR, required=True, metavar="DIR", help="The data set (Annotations/, JPEGImages/).")
@click.option("--split", type=_FILE, metavar="FILE", help="File of image stems (default: all).")
@click.option("--out", type=_DIR, default=Path("runs/evaluate"), show_default=True, metavar="DIR", help="Results.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N images (quick checks).")
@config_option
@detector_options
def evaluate(
    voc: Path,
    split: Path | None,
    out: Path,
    limit: int | None,
    config: Path | None,
    detector: str | None,
    detector_model: Path | None,
) -> int:
    """AP, recall and accuracy over a PASCAL VOC data set; metrics, predictions and curves go to --out."""
    from maskwatch.inference.analyzer import FaceAnalyzer
    from maskwatch.inference.evaluate import evaluate_voc, print_summary

    analyzer = FaceAnalyzer(settings_with_detector(config, detector, detector_model).analyzer)
    print_summary(evaluate_voc(analyzer, voc, split, out, limit=limit))
    return 0


@command("calibrate", short_help="Fit detector-box calibration on a VOC split.")
@click.option("--voc", type=_DIR, required=True, metavar="DIR", help="The data set.")
@click.option("--split", type=_FILE, metavar="FILE", help="File of image stems (default: all).")
@config_option
@detector_options
def calibrate(
    voc: Path, split: Path | None, config: Path | None, detector: str | None, detector_model: Path | None
) -> int:
    """Fit the box calibration of the configured detector on a VOC split; print it for the config."""
    from maskwatch.inference.calibration import fit_calibration
    from maskwatch.inference.detector import FaceDetector
    from maskwatch.voc import read_dataset, read_split

    settings = settings_with_detector(config, detector, detector_model)
    items = read_dataset(voc, read_split(split) if split else None)
    fit = fit_calibration(FaceDetector(settings.analyzer.detector), items)
    print(f"median of {fit.pairs} matched faces, then searched for the most faces at IoU >= 0.5")
    print(f"faces at IoU >= 0.5: {fit.hit_rate_before:.4f} uncalibrated, {fit.hit_rate_after:.4f} calibrated")
    print(f"calibration: {fit.calibration.model_dump_json()}")
    return 0


@command("train", short_help="Train the mask classifier (needs the `train` extra).")
@click.option(
    "--config",
    type=_FILE,
    required=True,
    metavar="FILE",
    help="Training YAML (not the service's), e.g. configs/train.yaml.",
)
def train(config: Path) -> int:
    """Train the mask classifier and export it (needs the `train` extra: TensorFlow)."""
    try:
        from maskwatch.training.train import command_line, run_training
    except ModuleNotFoundError as exc:
        raise MaskwatchError(
            f"training needs the `train` extra (TensorFlow): pip install 'maskwatch[train]' ({exc})"
        ) from None
    from maskwatch.training.config import load_train_config

    result = run_training(load_train_config(config), command=command_line())
    print(f"model: {result.tflite_path}\nmetrics: {result.out_dir / 'metrics.json'}")
    return 0


@group("models", short_help="Manage model files.")
def models() -> None:
    """Manage model files."""


@models.command("fetch", short_help="Download a model file and verify its sha256.")
@click.argument("name", type=click.Choice(["yunet"]))
@click.option("--dest", type=_DIR, default=Path("models"), show_default=True, metavar="DIR", help="Where it goes.")
@click.option("--url", help="Download from this address instead of the official one (mirrors).")
def models_fetch(name: str, dest: Path, url: str | None) -> int:
    """Download a model file and verify its sha256; print where it is."""
    from maskwatch.inference.fetch import YUNET, fetch_model

    print(fetch_model(YUNET, dest, url=url))
    return 0


def _bench_options(f: Any) -> Any:
    options = [
        click.option("--image", type=_FILE, help="Frame to time (resized to 1280x720); default: a demo scene."),
        click.option("--ingest", metavar="URL", help="Instead: CPU per camera of each decode mode on this source."),
        click.option("--sample-fps", type=float, default=1.0, show_default=True, help="With --ingest or --cameras."),
        click.option("--seconds", type=float, default=20.0, show_default=True, help="With --ingest: per mode."),
        click.option("--scale-out", is_flag=True, help="Instead: inference frames/s with 1, 2, 3 worker processes."),
        click.option("--workers", default="1,2,3", show_default=True, help="With --scale-out: worker counts."),
        click.option("--frames", type=int, default=240, show_default=True, help="With --scale-out: frames per run."),
        click.option("--streams", type=int, default=8, show_default=True, help="With --scale-out: camera streams."),
        click.option(
            "--clip",
            type=_FILE,
            default=Path("../shared/videos/four-people-putting-on-masks.mp4"),
            show_default=True,
            help="With --scale-out or --cameras: the video streamed.",
        ),
        click.option("--cameras", type=click.IntRange(min=1), help="Instead: the whole pipeline, K RTSP cameras."),
        click.option("--duration", type=float, default=30.0, show_default=True, help="With --cameras: measured s."),
        click.option(
            "--warmup",
            type=float,
            default=20.0,
            show_default=True,
            help="With --cameras: seconds before measuring; then until the start-up backlog is under 2 s of "
            "frames (at most twice the warm-up again).",
        ),
        click.option("--find-max", is_flag=True, help="With --cameras: ramp up, then bisect to the most sustained."),
        click.option("--redis", default="redis://127.0.0.1:6379/13", show_default=True, help="A db it may flush."),
        click.option("--infer-processes", type=int, help="With --cameras: inference processes (default: 1 per core)."),
        click.option("--baseline", is_flag=True, help="With --cameras: also the naive OpenCV + Keras scripts."),
        json_option,
        out_option("the --cameras report as JSON"),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@command("bench", short_help="Benchmarks: classifier and detector speed, ingest, scale-out, pipeline.")
@_bench_options
@config_option
@detector_options
def bench(config: Path | None, detector: str | None, **options: Any) -> int:
    """Single-core speed (classifier per face, detector per 1280x720 frame), or with --ingest,
    --scale-out or --cameras another benchmark. --json / --out: the --cameras report."""
    if (options["as_json"] or options["out"]) and not options["cameras"]:
        raise click.UsageError("--json and --out give the report of --cameras: add --cameras K")
    try:
        from devtools.bench.command import bench as run_bench
        from devtools.bench.pipeline_cli import BenchOptions
    except ModuleNotFoundError as exc:
        raise devtools_missing("bench", exc) from None
    settings = settings_with_detector(config, detector, options["detector_model"])
    return run_bench(BenchOptions(**options), settings)


COMMANDS: tuple[click.Command, ...] = (detect, evaluate, calibrate, train, models, bench)
