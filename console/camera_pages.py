"""Server-rendered camera pages: the camera grid with each camera's live picture, and one camera's
state, live picture with its areas, history and coverage."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any

import cv2
import numpy as np
from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from maskwatch.annotate import blur_faces
from maskwatch.config import Settings
from maskwatch.console.deps import PageUser, console
from maskwatch.console.pages import days_within, render, servable
from maskwatch.storage.cameras import camera_reason, coverage_gaps
from maskwatch.storage.compliance import compliance_stats
from maskwatch.storage.models import Camera, CameraStatusEvent, Violation, iso_utc, utcnow
from maskwatch.storage.record.live import LivePicture, read_live

router = APIRouter(include_in_schema=False)
LATEST_SNAPSHOT_TRIES = 20  # violations looked at for a camera page's picture
# The record stage writes a camera's newest frame every second or so; frames reach it at the
# sampling rate, or every motion keep-alive (2 s by default). Older than this, the picture is not live.
LIVE_STALE_S = 15.0
CameraId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="a camera's id")]
# What each state means to someone looking at the camera, before its detail.
STATE_SAID = {
    "online": "Streaming",
    "connecting": "Connecting",
    "stalled": "Stalled: the stream stopped sending frames",
    "offline": "Offline",
    "stopped": "Not watched",
    "disabled": "Not watched",
    "finished": "The recording has played to its end",
    "unknown": "No report from maskwatch's ingest yet",
}


def status_text(cam: Camera) -> str:
    """One line on the camera's state: never "streaming" unless its ingest says it streams."""
    if cam.state == "online" and not cam.detail:
        return "Streaming normally."
    said = STATE_SAID.get(cam.state, cam.state)
    reason = camera_reason(cam.detail, cam.id)
    return f"{said}: {reason}" if reason else f"{said}."


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} d"


def headline(cam: Camera, now: float) -> str:
    """The state in a few words, with how long a down camera has been down: what the camera grid
    shows over a missing picture, the reason being on the line below it."""
    said = STATE_SAID.get(cam.state, cam.state).split(":")[0]
    if cam.down_since is None or cam.state == "online":
        return said
    return f"{said} for {_duration(max(0.0, now - cam.down_since.timestamp()))}"


def live_json(cam: Camera, picture: LivePicture | None, now: float) -> dict[str, Any] | None:
    """The camera's live picture as the pages and /api/cameras give it; `stale` when it is old or the
    camera is not streaming, which the camera grid shows as a placeholder with the reason."""
    if picture is None:
        return None
    age = max(0.0, now - picture.captured_at)
    return {
        # A new address per picture: the browser fetches each one once, and never an old one again.
        "url": f"/cameras/{cam.id}/live.jpg?t={picture.captured_at:.3f}",
        "captured_at": iso_utc(dt.datetime.fromtimestamp(picture.captured_at, dt.timezone.utc)),
        "age_s": round(age, 1),
        "fps": round(picture.fps, 1),
        "stale": age > LIVE_STALE_S or cam.state != "online",
    }


def camera_json(cam: Camera, picture: LivePicture | None, now: float) -> dict[str, Any]:
    return {
        "id": cam.id,
        "name": cam.name,
        "state": cam.state,
        "detail": cam.detail,
        "status_text": status_text(cam),
        "reason": camera_reason(cam.detail, cam.id),  # the detail without retry schedule or camera prefix
        "headline": headline(cam, now),
        "down_since": iso_utc(cam.down_since) if cam.down_since else None,
        "frames_sent": cam.frames_sent,
        "frames_dropped": cam.frames_dropped,
        "reported_at": iso_utc(cam.updated_at),
        "live": live_json(cam, picture, now),
    }


def cameras_json(request: Request) -> list[dict[str, Any]]:
    """Every camera with its state and live picture, in name order (the grid's order)."""
    c = console(request)
    with Session(c.engine) as s:
        rows = list(s.scalars(select(Camera).order_by(Camera.name, Camera.id)))
    now = time.time()
    return [camera_json(cam, read_live(c.snapshots_root, cam.id), now) for cam in rows]


@router.get("/cameras")
def cameras(request: Request, user: PageUser) -> HTMLResponse:
    return render(request, "cameras.html", user, cameras=cameras_json(request), stale_s=LIVE_STALE_S)


@router.get("/cameras/{camera_id}/live.jpg")
def live_picture(request: Request, user: PageUser, camera_id: CameraId) -> Response:
    """The camera's newest frame; faces blurred for a viewer not granted them, as in snapshots."""
    c = console(request)
    with Session(c.engine) as s:
        if s.get(Camera, camera_id) is None:
            raise HTTPException(status_code=404, detail=f"no camera {camera_id!r}")
    picture = read_live(c.snapshots_root, camera_id)
    if picture is None:
        raise HTTPException(status_code=404, detail="no live picture of this camera yet")
    if user.sees_faces or not picture.faces:
        return Response(picture.jpeg, media_type="image/jpeg")
    image = cv2.imdecode(np.frombuffer(picture.jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise HTTPException(status_code=404, detail="live picture not readable")
    ok, data = cv2.imencode(".jpg", blur_faces(image, list(picture.faces)), [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise HTTPException(status_code=500, detail="live picture could not be encoded")
    return Response(data.tobytes(), media_type="image/jpeg")


@router.get("/cameras/{camera_id}")
def camera(request: Request, user: PageUser, camera_id: str, days: int = 7) -> HTMLResponse:
    c = console(request)
    days = days_within(days)
    with Session(c.engine) as s:
        cam = s.get(Camera, camera_id)
        if cam is None:
            raise HTTPException(status_code=404, detail=f"no camera {camera_id!r}")
        events = list(
            s.scalars(
                select(CameraStatusEvent)
                .where(CameraStatusEvent.camera_id == camera_id)
                .order_by(CameraStatusEvent.at.desc(), CameraStatusEvent.id.desc())
                .limit(50)
            )
        )
        recent = s.execute(
            select(Violation.id, Violation.snapshot_path)
            .where(Violation.camera_id == camera_id)
            .order_by(Violation.id.desc())
            .limit(LATEST_SNAPSHOT_TRIES)
        )
        # A snapshot deleted by hand would leave a broken picture under the areas: an older one serves.
        latest = next((vid for vid, path in recent if servable(c.snapshots_root, path)), None)
    until = utcnow()
    since = until - dt.timedelta(days=days)
    gaps = [g for g in coverage_gaps(c.engine, since, camera_id=camera_id) if g.seconds is None or g.seconds >= 1]
    compliance = compliance_stats(c.engine, since, until, camera_id, "day").totals()
    return render(
        request,
        "camera.html",
        user,
        cam=cam,
        info=camera_json(cam, read_live(c.snapshots_root, cam.id), time.time()),
        events=events,
        gaps=gaps,
        compliance=compliance,
        days=days,
        areas=_areas_outlines(c.settings, camera_id),
        latest_violation=latest,
    )


def _areas_outlines(settings: Settings, camera_id: str) -> dict[str, list[str]] | None:
    """The camera's watch and ignore areas as SVG polygon points in fractions of the picture, or
    None when this console's configuration does not list the camera."""
    configured = next((cam for cam in settings.cameras if cam.id == camera_id), None)
    if configured is None:
        return None
    return {
        kind: [" ".join(f"{x:.4f},{y:.4f}" for x, y in area.corners) for area in group]
        for kind, group in (("watch", configured.watch_areas), ("ignore", configured.ignore_areas))
    }
