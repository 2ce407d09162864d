"""`maskwatch evaluate-events`: play clips whose people are known through the service, score the events."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from maskwatch.app.cli_base import command
from maskwatch.app.evaluation.truth import ClipTruth, TruthError, load_truth
from maskwatch.app.shared import config_option, detector_options, settings_with_detector

TRUTH_SUFFIXES = (".truth.json", ".truth.yaml", ".truth.yml")


def truth_files(paths: list[Path]) -> list[Path]:
    """The truth files named, and those in the folders named (`*.truth.json` / `.yaml`)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.name.endswith(TRUTH_SUFFIXES))
        elif path.is_file():
            found.append(path)
        else:
            raise TruthError(f"{path}: no such truth file or folder")
    if not found:
        raise TruthError(f"no ground-truth files (*{', *'.join(TRUTH_SUFFIXES)}) in {', '.join(map(str, paths))}")
    return found


def _totals(scores: list[Any]) -> dict[str, Any]:
    keys = (
        "people_present",
        "people_counted",
        "people_unseen",
        "violators",
        "found",
        "masked_throughout",
        "masked_flagged",
        "violations",
        "false_alarms",
        "duplicates",
        "wrong_label",
    )
    t: dict[str, Any] = {k: sum(getattr(s, k) for s in scores) for k in keys}
    t["missed_never_confirmed"] = sum(len(s.missed_never_confirmed) for s in scores)
    t["missed_merged"] = sum(len(s.missed_merged) for s in scores)

    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 4) if b else None

    t["people_counted_ratio"] = ratio(t["people_counted"], t["people_present"])
    t["people_counted_of_seen"] = ratio(t["people_counted"], t["people_present"] - t["people_unseen"])
    t["violation_recall"] = ratio(t["found"], t["violators"])
    t["duplicate_share"] = ratio(t["duplicates"], t["violations"])
    t["masked_not_flagged"] = ratio(t["masked_throughout"] - t["masked_flagged"], t["masked_throughout"])
    return t


def _print(scores: list[Any], totals: dict[str, Any]) -> None:
    head = f"{'clip':<34} {'fps':>4} {'people':>9} {'found':>7} {'never':>5} {'merged':>6} {'FA':>3} "
    print(head + f"{'masked':>7} {'dup':>3} {'label':>5} {'IDsw':>4} {'IDF1':>5} {'MOTA':>6}")
    for s in scores:
        idf1 = "-" if s.idf1 is None else f"{s.idf1:.3f}"
        mota = "-" if s.mota is None else f"{s.mota:.3f}"
        print(
            f"{s.clip[:34]:<34} {s.sample_fps:>4g} {s.people_counted:>4}/{s.people_present:<4} "
            f"{s.found:>3}/{s.violators:<3} {len(s.missed_never_confirmed):>5} {len(s.missed_merged):>6} "
            f"{s.false_alarms:>3} {s.masked_flagged:>3}/{s.masked_throughout:<3} {s.duplicates:>3} "
            f"{s.wrong_label:>5} {'-' if s.id_switches is None else s.id_switches:>4} {idf1:>5} {mota:>6}"
        )
    t = totals
    print(
        f"\npeople counted {t['people_counted']} for {t['people_present']} present "
        f"(ratio {t['people_counted_ratio']}; {t['people_unseen']} never found by the detector, "
        f"ratio to those found {t['people_counted_of_seen']}); violators found {t['found']} of {t['violators']} "
        f"(recall {t['violation_recall']}; missed: {t['missed_never_confirmed']} never confirmed, "
        f"{t['missed_merged']} merged into another person's track)"
    )
    print(
        f"violations {t['violations']}: {t['false_alarms']} match no person, {t['duplicates']} duplicates "
        f"(share {t['duplicate_share']}), {t['wrong_label']} with the wrong label; people masked throughout "
        f"{t['masked_throughout']}, of whom {t['masked_flagged']} flagged (not flagged: {t['masked_not_flagged']})"
    )
    print(f"identities over the boxed clips: IDF1 {t['idf1']}  MOTA {t['mota']}  ID switches {t['id_switches']}")


def _print_rates(scores: list[Any], rates: list[float]) -> None:
    """One line per sample rate: the same clips played slower or faster."""
    print(f"\n{'fps':>4} {'people':>10} {'ratio':>6} {'recall':>7} {'dup':>6} {'masked ok':>9} {'FA':>3}")
    for rate in rates:
        t = _totals([s for s in scores if s.sample_fps == rate])
        print(
            f"{rate:>4g} {t['people_counted']:>4}/{t['people_present']:<5} {t['people_counted_ratio'] or 0:>6.3f} "
            f"{t['violation_recall'] or 0:>7.3f} {t['duplicate_share'] or 0:>6.3f} "
            f"{t['masked_not_flagged'] or 0:>9.3f} {t['false_alarms']:>3}"
        )


def evaluate_events(settings: Any, paths: list[Path], rates: list[float], out: Path) -> dict[str, Any]:
    from maskwatch.app.evaluation.replay import replay_clip
    from maskwatch.app.evaluation.score import overall_identity, score_clip
    from maskwatch.inference.analyzer import FaceAnalyzer
    from maskwatch.storage.db import open_database

    truths: list[tuple[Path, ClipTruth, Path]] = []
    for path in truth_files(paths):
        truth, clip = load_truth(path)
        if not clip.is_file():
            raise TruthError(f"{path}: its clip {clip} does not exist")
        truths.append((path, truth, clip))
    analyzer = FaceAnalyzer(settings.analyzer)
    # Each violation and each clip's end would be logged as the service logs them: the table says it all.
    for name in ("maskwatch.storage.record.recorder", "maskwatch.ingest.reader"):
        if not logging.getLogger(name).isEnabledFor(logging.DEBUG):
            logging.getLogger(name).setLevel(logging.WARNING)
    scores, accs, names = [], [], []
    with tempfile.TemporaryDirectory(prefix="maskwatch-events-") as tmp:
        engine = open_database(f"sqlite:///{tmp}/events.db")
        runs = [(p, t, c, r) for p, t, c in truths for r in rates]
        for path, truth, clip, rate in tqdm(runs, desc="clips", unit="clip"):
            run = replay_clip(settings, clip, rate, analyzer, engine, Path(tmp) / "snapshots", truth.ignore_areas)
            score, acc = score_clip(truth, run, settings.tracking.reentry_s, path.name.split(".")[0])
            scores.append(score)
            if acc is not None:
                accs.append(acc)
                names.append(f"{score.clip}@{rate:g}")
        engine.dispose()
    totals = _totals(scores) | overall_identity(accs, names)
    clips = [s.to_json() for s in scores]
    report = {"clips": clips, "totals": totals, "sample_fps": rates}
    _print(scores, totals)
    if len(rates) > 1:
        _print_rates(scores, rates)
    out.mkdir(parents=True, exist_ok=True)
    (out / "events.json").write_text(json.dumps(report, indent=2))
    from maskwatch.app.evaluation.plot import plot_events

    plot_events(clips, out / "events.png")
    print(f"\nwritten: {out / 'events.json'}, {out / 'events.png'}")
    return report


def _rates(_ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[float]:
    try:
        rates = [float(v) for text in values for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{', '.join(values)}: give frame rates such as 1,2,5", param=param) from None
    if not rates or any(not 0 < r <= 30 for r in rates):
        raise click.BadParameter(
            "each rate must be above 0 and at most 30 frames per second (as a camera's sample_fps)", param=param
        )
    return rates


@command(
    "evaluate-events",
    short_help="Play clips whose people are known through the service; score people, violations and identities.",
)
@click.argument("truth", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="TRUTH...")
@click.option(
    "--sample-fps",
    multiple=True,
    default=["2"],
    show_default=True,
    metavar="FPS[,FPS...]",
    callback=_rates,
    help="Play each clip at these rates (comma-separated, or the option repeated).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("runs/events"),
    show_default=True,
    metavar="DIR",
    help="Where events.json and events.png go.",
)
@config_option
@detector_options
def evaluate_events_command(
    truth: tuple[Path, ...],
    sample_fps: list[float],
    out: Path,
    config: Path | None,
    detector: str | None,
    detector_model: Path | None,
) -> int:
    """Each clip is read, analysed and recorded as the embedded service does it; the events are
    scored against the clip's ground-truth file (format: docs/tracking.md). TRUTH: truth
    files, or folders of *.truth.json."""
    evaluate_events(settings_with_detector(config, detector, detector_model), list(truth), sample_fps, out)
    return 0
