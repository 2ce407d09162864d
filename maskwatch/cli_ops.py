"""Operator commands of the `maskwatch` CLI: camera status and coverage, dead-lettered alerts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from maskwatch.config import load_settings


def _engine(config: Path) -> Any:
    from storage.db import create_db_engine, upgrade

    engine = create_db_engine(load_settings(config).database.url)
    upgrade(engine)
    return engine


def _cmd_cameras_status(args: argparse.Namespace) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from storage.models import Camera, iso_utc

    engine = _engine(args.config)
    with Session(engine) as s:
        cams = s.scalars(select(Camera).order_by(Camera.id)).all()
        rows = [
            {
                "camera_id": c.id,
                "name": c.name,
                "state": c.state,
                "since": iso_utc(c.down_since) if c.down_since else None,
                "detail": c.detail,
                "frames_sent": c.frames_sent,
                "frames_dropped": c.frames_dropped,
                "reported_at": iso_utc(c.updated_at),
            }
            for c in cams
        ]
    engine.dispose()
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'camera':<20} {'state':<11} {'sent':>8} {'dropped':>8}  detail")
    for c in cams:
        down = f" (down since {iso_utc(c.down_since)})" if c.down_since else ""
        print(f"{c.id[:20]:<20} {c.state:<11} {c.frames_sent:>8} {c.frames_dropped:>8}  {c.detail}{down}")
    return 0


def _cmd_cameras_gaps(args: argparse.Namespace) -> int:
    from storage.cameras import coverage_gaps
    from storage.models import iso_utc
    from storage.review import parse_since

    engine = _engine(args.config)
    gaps = coverage_gaps(engine, parse_since(args.since), camera_id=args.camera)
    engine.dispose()
    rows = [
        {
            "camera_id": g.camera_id,
            "from": iso_utc(g.start),
            "to": iso_utc(g.end) if g.end else None,
            "seconds": g.seconds,
            "reason": g.reason,
        }
        for g in gaps
        if g.seconds is None or g.seconds >= args.min_seconds
    ]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        until = r["to"] or "now (still not watched)"
        length = f"{r['seconds']:.0f} s" if r["seconds"] is not None else "ongoing"
        print(f"camera {r['camera_id']} was not watched {r['from']} -> {until} ({length}): {r['reason']}")
    print(f"{len(rows)} coverage gap(s)", file=sys.stderr)
    return 0


def _cmd_alerts_retry(args: argparse.Namespace) -> int:
    from alerts.dispatcher import Dispatcher

    settings = load_settings(args.config)
    engine = _engine(args.config)
    count = Dispatcher(settings, engine).retry_dead(args.ids or None, args.channel)
    engine.dispose()
    print(f"{count} dead-lettered alert(s) queued again; the alerts stage delivers them now")
    return 0


def _cmd_probe(args: argparse.Namespace) -> int:
    """Container health checks: exit 0 when the local process answers 200 on /healthz (or /readyz)."""
    import httpx

    path = "/readyz" if args.ready else "/healthz"
    try:
        response = httpx.get(f"http://127.0.0.1:{args.port}{path}", timeout=args.timeout)
    except httpx.HTTPError as exc:
        print(f"{path}: no answer on port {args.port} ({type(exc).__name__})", file=sys.stderr)
        return 1
    print(response.text)
    return 0 if response.status_code == 200 else 1


def register(sub: Any, alerts: argparse.ArgumentParser) -> None:
    """Add `cameras status|gaps` beside the other commands, and `retry` under `alerts`."""
    cameras = sub.add_parser("cameras", help="camera status and coverage").add_subparsers(
        dest="cameras_command", required=True
    )
    p = cameras.add_parser("status", help="each camera's state as last reported")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_cameras_status)
    p = cameras.add_parser("gaps", help="when cameras were not watched (offline, stalled, maskwatch stopped)")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--since", default="1d", metavar="ISO|1d", help="an ISO time, or a duration back from now")
    p.add_argument("--camera", metavar="ID")
    p.add_argument("--min-seconds", type=float, default=0.0, help="leave out shorter gaps")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_cameras_gaps)

    p = sub.add_parser("probe", help="health check of a local maskwatch process (for containers and systemd)")
    p.add_argument("--port", type=int, default=9100, help="its metrics.port (default 9100)")
    p.add_argument("--ready", action="store_true", help="check readiness (queue and database) instead of liveness")
    p.add_argument("--timeout", type=float, default=3.0)
    p.set_defaults(func=_cmd_probe)

    ops = alerts.add_subparsers(dest="alerts_command")
    p = ops.add_parser("retry", help="queue dead-lettered alerts again (all, or by id/channel)")
    p.add_argument("ids", nargs="*", type=int, metavar="ID", help="outbox ids (`maskwatch events show` lists them)")
    p.add_argument("--channel", help="only this channel: webhook:<n> or email")
    p.add_argument("--config", type=Path, required=True)
    p.set_defaults(func=_cmd_alerts_retry)
