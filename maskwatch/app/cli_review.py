"""Review commands of the `maskwatch` CLI: the web console, password hashes, reports, the
violation log (`events list|show`), and the export of reviewed faces for retraining."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from maskwatch.app.shared import open_configured_database
from maskwatch.config import ConfigError, load_settings


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from maskwatch.console.app import create_app
    from maskwatch.storage.db import open_existing

    settings = load_settings(args.config)
    if not settings.web.users and not settings.web.api_tokens:
        raise ConfigError(f"{args.config}: web.users is empty: add a user (`maskwatch users hash-password`)")
    engine = open_existing(settings.database.url)
    uvicorn.run(
        create_app(settings, engine),
        host=settings.web.address,
        port=args.port or settings.web.port,
        log_level="warning",
        access_log=False,
    )
    return 0


def _cmd_hash_password(_args: argparse.Namespace) -> int:
    from maskwatch.console.auth import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("the passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        print("use at least 8 characters", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from maskwatch.app.shared import parse_since
    from maskwatch.storage.db import open_existing
    from maskwatch.storage.report import build_report, render_report

    settings = load_settings(args.config)
    engine = open_existing(settings.database.url)
    until = parse_since(args.until) if args.until else None
    report = build_report(engine, parse_since(args.since), until, args.camera)
    engine.dispose()
    text = render_report(report, args.format)
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_export_dataset(args: argparse.Namespace) -> int:
    from maskwatch.storage.db import open_existing
    from maskwatch.storage.export import export_reviewed

    settings = load_settings(args.config)
    engine = open_existing(settings.database.url)
    counts = export_reviewed(engine, args.out)
    engine.dispose()
    total = sum(counts.values())
    print(f"{total} reviewed face(s) written to {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="the web console and JSON API (described at /api/openapi.json)")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--port", type=int, help="instead of web.port")
    p.set_defaults(func=_cmd_serve)

    users = sub.add_parser("users", help="console users").add_subparsers(dest="users_command", required=True)
    p = users.add_parser("hash-password", help="read a password (prompt or stdin), print its hash for web.users")
    p.set_defaults(func=_cmd_hash_password)

    p = sub.add_parser("report", help="compliance per camera with denominators, busiest hours, coverage gaps")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--since", default="7d", metavar="ISO|7d")
    p.add_argument("--until", metavar="ISO|1d", help="default: now")
    p.add_argument("--camera", metavar="ID")
    p.add_argument("--format", choices=["csv", "json", "html"], default="csv")
    p.add_argument("--out", type=Path, help="write here instead of standard output")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("export-dataset", help="reviewed faces in the folder-per-class layout `train` reads")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.set_defaults(func=_cmd_export_dataset)


def _cmd_events_list(args: argparse.Namespace) -> int:
    import json

    from maskwatch.app.shared import parse_since
    from maskwatch.storage.violations import list_events

    engine = open_configured_database(args.config)
    rows = list_events(engine, args.camera, parse_since(args.since) if args.since else None, args.label, args.limit)
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=1))
        return 0
    print(f"{'id':>6}  {'started (UTC)':<20} {'camera':<22} {'label':<15} {'score':>5}  snapshot")
    for r in rows:
        started = r.started_at.strftime("%Y-%m-%d %H:%M:%S")
        camera = f"{r.camera_name[:21]}"
        print(f"{r.id:>6}  {started:<20} {camera:<22} {r.label:<15} {r.score:>5.2f}  {r.snapshot_path}")
    print(f"{len(rows)} violation(s)", file=sys.stderr)
    return 0


def _cmd_events_show(args: argparse.Namespace) -> int:
    import json

    from maskwatch.storage.violations import show_event

    print(json.dumps(show_event(open_configured_database(args.config), args.id), indent=1))
    return 0


def register_events(sub: Any) -> None:
    events = sub.add_parser("events", help="review recorded violations").add_subparsers(
        dest="events_command", required=True
    )
    p = events.add_parser("list", help="violations, newest first")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--camera", metavar="ID")
    p.add_argument("--since", metavar="ISO|1h", help="an ISO time, or a duration back from now (30m, 1h, 2d)")
    p.add_argument("--label", choices=["without_mask", "mask_incorrect"])
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_events_list)
    p = events.add_parser("show", help="one violation with its alerts' delivery history")
    p.add_argument("id", type=int)
    p.add_argument("--config", type=Path, required=True)
    p.set_defaults(func=_cmd_events_show)


def _cmd_privacy_erase(args: argparse.Namespace) -> int:
    from maskwatch.app.shared import parse_since
    from maskwatch.storage.erase import erase_range

    since, until = parse_since(args.since), parse_since(args.until)
    if until <= since:
        raise ConfigError(f"--until ({args.until}) must come after --from ({args.since})")
    engine = open_configured_database(args.config)
    try:
        done = erase_range(engine, args.camera, since, until, by=getpass.getuser(), dry_run=not args.yes)
    finally:
        engine.dispose()
    what = (
        f"{done.violations} violation(s) of camera {args.camera} started {since.isoformat()} to {until.isoformat()}, "
        f"{done.files} snapshot file(s), {done.alerts_unsent} unsent alert(s)"
    )
    if not args.yes:
        print(f"would erase {what}; run again with --yes to erase them")
        return 0
    print(f"erased {what}")
    return 0


def register_privacy(sub: Any) -> None:
    privacy = sub.add_parser("privacy", help="data protection requests").add_subparsers(
        dest="privacy_command", required=True
    )
    p = privacy.add_parser(
        "erase",
        help="delete one camera's violations of a time range, with their pictures and alerts (a person's request)",
    )
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--camera", required=True, metavar="ID")
    p.add_argument("--from", dest="since", required=True, metavar="ISO|1h", help="start: an ISO time, or 2h back")
    p.add_argument("--to", dest="until", required=True, metavar="ISO|1h", help="end (exclusive): an ISO time, or 0m")
    p.add_argument("--yes", action="store_true", help="erase; without it, only say what would be erased")
    p.set_defaults(func=_cmd_privacy_erase)
