"""Operator commands of the `maskwatch` CLI: camera status, coverage and area previews, dead-lettered
alerts, the health probe."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine

from maskwatch.app.cli_base import command, group
from maskwatch.app.shared import (
    camera_option,
    config_option,
    json_option,
    load_config,
    no_config_error,
    open_reader,
    parse_since,
    require_camera,
)
from maskwatch.config import CameraConfig, IngestConfig, Settings
from maskwatch.errors import MaskwatchError
from maskwatch.messages import FrameMessage
from maskwatch.redact import url_origin


@group("cameras", short_help="Camera status, coverage gaps and area previews.")
def cameras() -> None:
    """Camera status, coverage gaps and area previews."""


def _state_since(engine: Engine) -> dict[tuple[str, str], dt.datetime]:
    """(camera, state) -> when the camera last entered that state (a status event is written per change)."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from maskwatch.storage.models import CameraStatusEvent

    with Session(engine) as s:
        latest = s.execute(
            select(CameraStatusEvent.camera_id, CameraStatusEvent.state, func.max(CameraStatusEvent.at)).group_by(
                CameraStatusEvent.camera_id, CameraStatusEvent.state
            )
        ).all()
    return {(camera_id, state): at for camera_id, state, at in latest}


def _status_rows(settings: Settings, engine: Engine) -> list[dict[str, Any]]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from maskwatch.storage.models import Camera, iso_utc
    from maskwatch.storage.record.live import read_live

    entered = _state_since(engine)
    rows: list[dict[str, Any]] = []
    with Session(engine) as s:
        for c in s.scalars(select(Camera).order_by(Camera.id)):
            state_since = c.down_since or entered.get((c.id, c.state))
            # The live picture's frame rate is the camera's now only while it is watched.
            live = read_live(settings.snapshots.dir, c.id) if c.state == "online" else None
            rows.append(
                {
                    "camera_id": c.id,
                    "name": c.name,
                    "state": c.state,
                    "since": iso_utc(c.down_since) if c.down_since else None,
                    "state_since": iso_utc(state_since) if state_since else None,
                    "fps": live.fps if live is not None else None,
                    "detail": c.detail,
                    "frames_sent": c.frames_sent,
                    "frames_dropped": c.frames_dropped,
                    "reported_at": iso_utc(c.updated_at),
                }
            )
    return rows


@cameras.command("status", short_help="Each camera's state as last reported.")
@config_option
@json_option
def cameras_status(config: Path | None, as_json: bool) -> int:
    """Each camera's state and since when, the frame rate reaching the record stage (online cameras
    with a live picture), frame counts and last problem, as its ingest last reported them."""
    settings = load_config(config)
    engine = open_reader(settings)
    try:
        rows = _status_rows(settings, engine)
    finally:
        engine.dispose()
    if as_json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'camera':<20} {'state':<11} {'since (UTC)':<19} {'fps':>5} {'sent':>8} {'dropped':>8}  detail")
    for r in rows:
        since = r["state_since"][:19].replace("T", " ") if r["state_since"] else "-"
        fps = f"{r['fps']:>5.1f}" if r["fps"] is not None else f"{'-':>5}"
        counts = f"{r['frames_sent']:>8} {r['frames_dropped']:>8}"
        print(f"{r['camera_id'][:20]:<20} {r['state']:<11} {since:<19} {fps} {counts}  {r['detail']}")
    return 0


@cameras.command("gaps", short_help="When cameras were not watched (offline, stalled, maskwatch stopped).")
@config_option
@click.option("--since", default="1d", show_default=True, metavar="ISO|1d", help="An ISO time, or a duration back.")
@camera_option
@click.option("--min-seconds", type=click.FloatRange(min=0), default=0.0, help="Leave out shorter gaps.")
@json_option
def cameras_gaps(config: Path | None, since: str, camera: str | None, min_seconds: float, as_json: bool) -> int:
    """When cameras were not watched: offline, stalled, or maskwatch not running."""
    from maskwatch.storage.cameras import coverage_gaps
    from maskwatch.storage.models import iso_utc

    settings = load_config(config)
    start = parse_since(since)
    engine = open_reader(settings)
    try:
        require_camera(camera, settings, engine)
        gaps = coverage_gaps(engine, start, camera_id=camera)
    finally:
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
        if g.seconds is None or g.seconds >= min_seconds
    ]
    if as_json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        until, length = (r["to"], f"{r['seconds']:.0f} s") if r["to"] else ("now", "ongoing")
        reason = f": {r['reason']}" if r["reason"] else ""
        print(f"camera {r['camera_id']} was not watched {r['from']} -> {until} ({length}){reason}")
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


@cameras.command(
    "preview", short_help="One frame of a camera with its watch and ignore areas and the faces they count."
)
@click.argument("camera_id", metavar="ID")
@config_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("preview.jpg"),
    show_default=True,
    metavar="FILE",
    help="Write the picture to this file (.jpg or .png).",
)
def cameras_preview(camera_id: str, config: Path | None, out: Path) -> int:
    """One frame of camera ID with its watch and ignore areas, and the faces they count, drawn on it.
    Exit status 1 when the camera cannot be read."""
    from maskwatch.ingest.reader import SourceError

    settings = load_config(config)
    if not settings.cameras:
        raise no_config_error(config, "no cameras configured")
    require_camera(camera_id, settings, None, str(config))  # it must have a URL
    camera = next(c for c in settings.cameras if c.id == camera_id)
    try:
        frame = _grab_frame(camera, settings.ingest)
    except SourceError as exc:
        print(exc, file=sys.stderr)
        return 1
    _draw_preview(frame, camera, settings, out)
    return 0


def _draw_preview(frame: FrameMessage, camera: CameraConfig, settings: Settings, out: Path) -> None:
    import cv2

    from maskwatch.annotate import draw_areas, draw_faces, draw_grid
    from maskwatch.areas import CameraAreas
    from maskwatch.inference.analyzer import FaceAnalyzer
    from maskwatch.inference.areas import search_region
    from maskwatch.inference.worker import decode_frame

    image = decode_frame(frame)
    h, w = image.shape[:2]
    areas = CameraAreas.of(camera) or CameraAreas()
    faces = FaceAnalyzer(settings.analyzer).analyze(image)  # the whole picture: faces left out show too
    counted = [f for f in faces if areas.counts(f.box, w, h)]
    left_out = [replace(f, label="left out") for f in faces if not areas.counts(f.box, w, h)]
    region = search_region(areas, w, h)
    drawn = draw_faces(draw_faces(draw_areas(draw_grid(image), areas, region), counted), left_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), drawn):
        raise MaskwatchError(f"{out}: could not be written (not a .jpg or .png name?)")
    searched = "the whole picture" if region is None else f"{region[2] - region[0]}x{region[3] - region[1]} px"
    share = 100 if region is None else round(100 * (region[2] - region[0]) * (region[3] - region[1]) / (w * h))
    print(
        f"camera {camera.id}: {w}x{h}; {len(faces)} face(s): {len(counted)} counted, {len(left_out)} left out by "
        f"its areas; the detector searches {searched} ({share} % of the picture); written to {out}"
    )
    print(
        "green: watch areas, red: ignore areas, blue: where the detector searches, grey: faces the areas "
        "leave out; the grid marks tenths of the picture, the fractions areas are written in"
    )


@command("retry", short_help="Queue dead-lettered alerts again (all, or by id or channel).")
@click.argument("ids", nargs=-1, type=int, metavar="[ID]...")
@click.option("--channel", help="Only this channel: webhook:<n>, email or mqtt.")
@config_option
def alerts_retry(ids: tuple[int, ...], channel: str | None, config: Path | None) -> int:
    """Queue dead-lettered alerts again: all, or those of the outbox ids given (`maskwatch events
    show` lists them), or of one channel. The alerts stage delivers them."""
    from maskwatch.alerts.dispatcher import Dispatcher

    settings = load_config(config)
    engine = open_reader(settings)
    try:
        count = Dispatcher(settings, engine).retry_dead(list(ids) or None, channel)
    finally:
        engine.dispose()
    print(f"{count} dead-lettered alert(s) queued again; the alerts stage delivers them now")
    return 0


@command("test", short_help="Send a test alert now on every channel (or one), and say what each answered.")
@click.option("--channel", help="Only this channel: webhook:<n>, email or mqtt.")
@config_option
def alerts_test(channel: str | None, config: Path | None) -> int:
    """Send a test alert now on every configured channel, or on one, without waiting for a
    violation: it proves an address, a secret or a chat format. Exit status 1 if any failed."""
    from sqlalchemy import create_engine

    from maskwatch.alerts.dispatcher import Dispatcher

    settings = load_config(config)
    # A test goes past the outbox, so it needs no database: it works before maskwatch first runs.
    engine = create_engine("sqlite://")
    try:
        dispatcher = Dispatcher(settings, engine)
        try:
            results = dispatcher.send_test(channel)
        finally:
            dispatcher.close()
    finally:
        engine.dispose()
    if not results:
        raise MaskwatchError("no alert channels are configured (alerts.webhooks, alerts.email, alerts.mqtt)")
    for name, ok, detail in results:
        print(f"{name:12} {channel_address(settings, name):44}  {'delivered' if ok else 'FAILED':9}  {detail}")
    return 0 if all(ok for _, ok, _ in results) else 1


def channel_address(settings: Settings, channel: str) -> str:
    """Where a channel delivers, with no credential: a webhook's origin (its path may be the
    credential), the SMTP server, the MQTT broker."""
    alerts = settings.alerts
    if channel.startswith("webhook:"):
        hook = alerts.webhooks[int(channel.removeprefix("webhook:"))]
        signed = ", signed" if hook.format == "json" and hook.secret else ""
        return f"{url_origin(hook.url)} ({hook.format}{signed})"  # hooks on one host told apart
    if channel == "email" and alerts.email is not None:
        return f"smtp://{alerts.email.host}:{alerts.email.port}"
    if channel == "mqtt" and alerts.mqtt is not None:
        return f"{'mqtts' if alerts.mqtt.tls else 'mqtt'}://{alerts.mqtt.host}:{alerts.mqtt.port}"
    return ""


@command("probe", short_help="Health check of a local maskwatch process (for containers and systemd).")
@click.option("--port", type=click.IntRange(1, 65535), default=9100, show_default=True, help="Its metrics.port.")
@click.option("--ready", is_flag=True, help="Check readiness (queue and database) instead of liveness.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=3.0, show_default=True)
def probe(port: int, ready: bool, timeout: float) -> int:
    """Exit 0 when the local process answers 200 on /healthz (or /readyz with --ready), else 1."""
    import httpx

    path = "/readyz" if ready else "/healthz"
    try:
        response = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=timeout)
    except httpx.HTTPError as exc:
        print(f"{path}: no answer on port {port} ({type(exc).__name__})", file=sys.stderr)
        return 1
    print(response.text)
    return 0 if response.status_code == 200 else 1


COMMANDS: tuple[click.Command, ...] = (cameras, probe)
