"""Operator commands of the `maskwatch` CLI: camera status, coverage and area previews,
dead-lettered alerts."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from maskwatch.app.shared import open_configured_database
from maskwatch.config import CameraConfig, IngestConfig, load_settings
from maskwatch.messages import FrameMessage


def _cmd_cameras_status(args: argparse.Namespace) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from maskwatch.storage.models import Camera, iso_utc

    engine = open_configured_database(args.config)
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
    from maskwatch.app.shared import parse_since
    from maskwatch.storage.cameras import coverage_gaps
    from maskwatch.storage.models import iso_utc

    engine = open_configured_database(args.config)
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


def _grab_frame(camera: CameraConfig, ingest: IngestConfig) -> FrameMessage:
    """The camera's first sampled frame, read as the ingest stage reads it (raises SourceError)."""
    from maskwatch.ingest.reader import CameraReader, SourceError, StreamEnded

    got: list[FrameMessage] = []
    stop = threading.Event()

    def keep(frame: FrameMessage) -> None:
        got.append(frame)
        stop.set()

    reader = CameraReader(camera.model_copy(update={"motion": None, "realtime": False}), ingest, keep)
    with contextlib.suppress(StreamEnded):
        reader.run(stop)
    if not got:
        raise SourceError(f"{reader.where}: ended before a frame could be decoded")
    return got[0]


def _cmd_cameras_preview(args: argparse.Namespace) -> int:
    import cv2

    from maskwatch.annotate import draw_areas, draw_faces
    from maskwatch.areas import CameraAreas
    from maskwatch.inference.analyzer import FaceAnalyzer
    from maskwatch.inference.areas import search_region
    from maskwatch.inference.worker import decode_frame
    from maskwatch.ingest.reader import SourceError

    settings = load_settings(args.config)
    camera = next((c for c in settings.cameras if c.id == args.camera), None)
    if camera is None:
        known = ", ".join(c.id for c in settings.cameras) or "none"
        print(f"{args.config}: no camera {args.camera!r} (cameras: {known})", file=sys.stderr)
        return 2
    try:
        frame = _grab_frame(camera, settings.ingest)
    except SourceError as exc:
        print(exc, file=sys.stderr)
        return 1
    image = decode_frame(frame)
    h, w = image.shape[:2]
    areas = CameraAreas.of(camera) or CameraAreas()
    faces = FaceAnalyzer(settings.analyzer).analyze(image)  # the whole picture: faces left out show too
    counted = [f for f in faces if areas.counts(f.box, w, h)]
    left_out = [replace(f, label="left out") for f in faces if not areas.counts(f.box, w, h)]
    region = search_region(areas, w, h)
    drawn = draw_faces(draw_faces(draw_areas(image, areas, region), counted), left_out)
    if not cv2.imwrite(str(args.out), drawn):
        print(f"{args.out}: could not be written (missing folder, or not a .jpg/.png name?)", file=sys.stderr)
        return 1
    searched = "the whole picture" if region is None else f"{region[2] - region[0]}x{region[3] - region[1]} px"
    share = 100 if region is None else round(100 * (region[2] - region[0]) * (region[3] - region[1]) / (w * h))
    print(
        f"camera {camera.id}: {w}x{h}; {len(faces)} face(s): {len(counted)} counted, {len(left_out)} left out by "
        f"its areas; the detector searches {searched} ({share} % of the picture); written to {args.out}"
    )
    return 0


def _cmd_alerts_retry(args: argparse.Namespace) -> int:
    from maskwatch.alerts.dispatcher import Dispatcher

    settings = load_settings(args.config)
    engine = open_configured_database(args.config)
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
    """Add `cameras status|gaps|preview` beside the other commands, and `retry` under `alerts`."""
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
    p = cameras.add_parser(
        "preview", help="one frame of a camera with its watch and ignore areas and the faces they count drawn on it"
    )
    p.add_argument("camera", metavar="ID")
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--out", type=Path, default=Path("preview.jpg"), help="image to write (default preview.jpg)")
    p.set_defaults(func=_cmd_cameras_preview)

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
