"""Server-rendered camera pages: the camera list and one camera's state, history and areas."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from maskwatch.config import Settings
from maskwatch.console.deps import PageUser, console
from maskwatch.console.pages import days_within, render, servable
from maskwatch.storage.cameras import coverage_gaps
from maskwatch.storage.compliance import compliance_stats
from maskwatch.storage.models import Camera, CameraStatusEvent, Violation, utcnow

router = APIRouter(include_in_schema=False)
LATEST_SNAPSHOT_TRIES = 20  # violations looked at for a camera page's picture


@router.get("/cameras")
def cameras(request: Request, user: PageUser) -> HTMLResponse:
    with Session(console(request).engine) as s:
        rows = list(s.scalars(select(Camera).order_by(Camera.name)))
    return render(request, "cameras.html", user, cameras=rows)


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
                .order_by(CameraStatusEvent.at.desc())
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
