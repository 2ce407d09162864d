"""Review commands of the `maskwatch` CLI: console users' password hashes, reports, the violation log
(`events list|show`), the export of reviewed faces for retraining, and erasure on request."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from pathlib import Path

import click

from maskwatch.app.cli_base import command, group
from maskwatch.app.shared import (
    camera_option,
    config_option,
    json_option,
    load_config,
    open_reader,
    out_option,
    parse_since,
    require_camera,
    write_out,
)
from maskwatch.config import ConfigError
from maskwatch.errors import MaskwatchError

# storage.violations.REVIEW_STATES, named here so the command line starts without the database layer.
REVIEW_STATES = ("unreviewed", "confirmed", "false_positive")


@group("users", short_help="Console users.")
def users() -> None:
    """Console users."""


@users.command("hash-password", short_help="Read a password (prompt or stdin), print its hash for web.users.")
def hash_password() -> int:
    """Read a password (a prompt, or the first line of standard input) and print its argon2 hash for
    web.users; the password itself is never stored."""
    from maskwatch.console.auth import hash_password as argon2_hash

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise MaskwatchError("the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise MaskwatchError("use at least 8 characters")
    print(argon2_hash(password))
    return 0


@command("report", short_help="Compliance per camera with denominators, busiest hours, coverage gaps.")
@config_option
@click.option("--since", default="7d", show_default=True, metavar="ISO|7d", help="An ISO time, or a duration back.")
@click.option("--until", metavar="ISO|1d", help="An ISO time, or a duration back (default: now).")
@camera_option
@click.option("--format", "form", type=click.Choice(["csv", "json", "html"]), default="csv", show_default=True)
@out_option("the report")
def report(config: Path | None, since: str, until: str | None, camera: str | None, form: str, out: Path | None) -> int:
    """Compliance per camera (violations over people counted), busiest hours and coverage gaps, as CSV,
    JSON or HTML on standard output or to --out."""
    from maskwatch.storage.report import build_report, render_report

    settings = load_config(config)
    start, end = parse_since(since), parse_since(until) if until else None
    engine = open_reader(settings)
    try:
        require_camera(camera, settings, engine)
        built = build_report(engine, start, end, camera)
        text = render_report(built, form)
    finally:
        engine.dispose()
    if out:
        write_out(out, text)
        period = f"{_utc(built.since)} → {_utc(built.until)}"
        print(f"wrote {out} ({len(built.totals)} camera(s), {period})", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _utc(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@command("export-dataset", short_help="Reviewed faces in the folder-per-class layout `train` reads.")
@config_option
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True, metavar="DIR")
def export_dataset(config: Path | None, out: Path) -> int:
    """Write the reviewed faces into DIR, a folder per class, as `maskwatch train` reads them."""
    from maskwatch.storage.export import export_reviewed

    engine = open_reader(load_config(config))
    try:
        counts = export_reviewed(engine, out)
    finally:
        engine.dispose()
    total = sum(counts.values())
    print(f"{total} reviewed face(s) written to {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


@group("events", short_help="Review recorded violations.")
def events() -> None:
    """Review recorded violations."""


@events.command("list", short_help="Violations, newest first.")
@config_option
@camera_option
@click.option("--since", metavar="ISO|1h", help="An ISO time, or a duration back from now (30m, 1h, 2d).")
@click.option("--label", type=click.Choice(["without_mask", "mask_incorrect"]))
@click.option("--state", type=click.Choice(REVIEW_STATES), help="Only violations in this review state.")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True)
@json_option
def events_list(
    config: Path | None,
    camera: str | None,
    since: str | None,
    label: str | None,
    state: str | None,
    limit: int,
    as_json: bool,
) -> int:
    """Violations, newest first, with their review state: a table, or with --json the rows as JSON."""
    from maskwatch.storage.violations import EventRow, ViolationFilter, find_violations

    settings = load_config(config)
    start = parse_since(since) if since else None
    engine = open_reader(settings)
    try:
        require_camera(camera, settings, engine)
        found, total = find_violations(
            engine, ViolationFilter(camera=camera, since=start, label=label, state=state), page_size=limit
        )
    finally:
        engine.dispose()
    rows = [
        (EventRow(v.id, v.camera_id, name, v.label, v.score, v.started_at, v.snapshot_path), v.review_state)
        for v, name in found
    ]
    if as_json:
        print(json.dumps([{**r.to_json(), "review_state": review} for r, review in rows], indent=1))
        return 0
    print(f"{'id':>6}  {'started (UTC)':<20} {'camera':<22} {'label':<15} {'score':>5}  {'state':<14}  snapshot")
    for r, review in rows:
        started = r.started_at.strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{r.id:>6}  {started:<20} {r.camera_name[:21]:<22} {r.label:<15} {r.score:>5.2f}  {review:<14}  "
            f"{r.snapshot_path}"
        )
    more = f" of {total} (raise --limit for more)" if total > len(rows) else ""
    print(f"{len(rows)} violation(s){more}", file=sys.stderr)
    return 0


@events.command("show", short_help="One violation with its alerts' delivery history (JSON).")
@click.argument("event_id", type=int, metavar="ID")
@config_option
@json_option
def events_show(event_id: int, config: Path | None, as_json: bool) -> int:
    """One violation with its alerts' delivery history, as JSON (--json is accepted, and changes nothing)."""
    from maskwatch.storage.violations import show_event

    engine = open_reader(load_config(config))
    try:
        print(json.dumps(show_event(engine, event_id), indent=1))
    finally:
        engine.dispose()
    return 0


@group("privacy", short_help="Data protection requests.")
def privacy() -> None:
    """Data protection requests."""


@privacy.command("erase", short_help="Delete one camera's violations of a time range, with their pictures and alerts.")
@config_option
@click.option("--camera", required=True, metavar="ID", help="The camera (of the config or the database).")
@click.option("--from", "since", required=True, metavar="ISO|1h", help="Start: an ISO time, or a duration back.")
@click.option("--to", "until", required=True, metavar="ISO|1h", help="End (exclusive): an ISO time, or 0m.")
@click.option("--yes", is_flag=True, help="Erase; without it, only say what would be erased.")
def privacy_erase(config: Path | None, camera: str, since: str, until: str, yes: bool) -> int:
    """Delete one camera's violations that started in a time range, with their pictures and unsent
    alerts (a person's request). Without --yes, only say what would go."""
    from maskwatch.storage.erase import erase_range

    start, end = parse_since(since), parse_since(until)
    if end <= start:
        raise ConfigError(f"--to ({until}) must come after --from ({since})")
    settings = load_config(config)
    engine = open_reader(settings)
    try:
        require_camera(camera, settings, engine)
        done = erase_range(engine, camera, start, end, by=getpass.getuser(), dry_run=not yes)
    finally:
        engine.dispose()
    what = (
        f"{done.violations} violation(s) of camera {camera} started {start.isoformat()} to {end.isoformat()}, "
        f"{done.files} snapshot file(s), {done.alerts_unsent} unsent alert(s)"
    )
    print(f"erased {what}" if yes else f"would erase {what}; run again with --yes to erase them")
    return 0


COMMANDS: tuple[click.Command, ...] = (users, report, export_dataset, events, privacy)
