"""Server-rendered pages: the violation list and page, reviews, and the dashboard."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from maskwatch.console.auth import Principal, check_csrf, csrf_token
from maskwatch.console.deps import PageNumber, PageUser, ViolationId, console
from maskwatch.console.pictures import picture
from maskwatch.storage.compliance import Bucket, compliance_stats
from maskwatch.storage.models import Camera, utcnow
from maskwatch.storage.violations import (
    ReviewError,
    ViolationFilter,
    find_violations,
    get_violation,
    image_views,
    record_image_view,
    set_review,
)

router = APIRouter(include_in_schema=False)
LABELS = {"without_mask": "No mask", "mask_incorrect": "Mask worn wrong", "with_mask": "Mask on"}
STATES = {"unreviewed": "Unreviewed", "confirmed": "Confirmed", "false_positive": "False positive"}
MAX_DAYS = 366  # of history on the dashboard and a camera's page


def render(
    request: Request,
    template: str,
    user: Principal | None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    return console(request).templates.TemplateResponse(
        request,
        template,
        {"user": user, "csrf": csrf_token(request), "labels": LABELS, "states": STATES, **context},
        status_code=status_code,
        headers=headers,
    )


def _day(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise HTTPException(status_code=422, detail=f"not a date: {text!r} (use YYYY-MM-DD)") from None


def _day_after(day: dt.datetime | None) -> dt.datetime | None:
    """The end of `day`; None (no bound) after the last day a datetime can hold."""
    try:
        return day + dt.timedelta(days=1) if day else None
    except OverflowError:
        return None


def days_within(days: int) -> int:
    return min(max(days, 1), MAX_DAYS)


@router.get("/")
def home() -> Response:
    return RedirectResponse("/violations", 303)


@router.get("/violations")
def violations(
    request: Request,
    user: PageUser,
    camera: str = "",
    label: str = "",
    state: str = "",
    since: str = "",
    until: str = "",
    page: PageNumber = 1,
) -> HTMLResponse:
    c = console(request)
    flt = ViolationFilter(camera or None, _day(since), _day_after(_day(until)), label or None, state or None)
    size = c.settings.web.page_size
    rows, total = find_violations(c.engine, flt, page, size)
    with Session(c.engine) as s:
        cameras = list(s.scalars(select(Camera).order_by(Camera.name)))
    query = {"camera": camera, "label": label, "state": state, "since": since, "until": until}
    pages = max(1, -(-total // size))
    return render(
        request,
        "violations.html",
        user,
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        cameras=cameras,
        query=query,
        qs=lambda p: urlencode({**{k: v for k, v in query.items() if v}, "page": p}),
    )


@router.get("/violations/{violation_id}")
def violation(request: Request, user: PageUser, violation_id: ViolationId) -> HTMLResponse:
    try:
        v, camera_name, events = get_violation(console(request).engine, violation_id)
    except ReviewError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    views = image_views(console(request).engine, v.id) if user.can_review else []
    return render(request, "violation.html", user, v=v, camera_name=camera_name, events=events, views=views)


@router.post("/violations/{violation_id}/review")
def review(
    request: Request,
    user: PageUser,
    violation_id: ViolationId,
    state: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
    label: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    if not user.can_review:
        raise HTTPException(status_code=403, detail="viewers cannot review; ask for the reviewer role")
    try:
        set_review(console(request).engine, violation_id, user.name, state, label or None)
    except ReviewError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return RedirectResponse(f"/violations/{violation_id}", 303)


@router.get("/violations/{violation_id}/image/{kind}")
def image(request: Request, user: PageUser, violation_id: ViolationId, kind: str) -> Response:
    """Snapshots only through here: the path comes from the database, never from the request."""
    if kind not in ("frame", "crop"):
        raise HTTPException(status_code=404)
    c = console(request)
    try:
        v, _, _ = get_violation(c.engine, violation_id)
    except ReviewError:
        raise HTTPException(status_code=404) from None
    path = servable(c.snapshots_root, v.snapshot_path if kind == "frame" else v.crop_path)
    if path is None:
        raise HTTPException(status_code=404, detail="snapshot not available (removed by retention?)")
    blurred = not user.sees_faces
    record_image_view(c.engine, v.id, user.name, kind, blurred)
    x1, y1, x2, y2 = v.box
    return picture(path, kind, (x1, y1, x2, y2), blurred)


def servable(root: Path, stored: str) -> Path | None:
    """The snapshot file at a path from the database, if it is there and inside the snapshot folder."""
    path = Path(stored).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


@router.get("/dashboard")
def dashboard(request: Request, user: PageUser, days: int = 7, camera: str = "", bucket: str = "day") -> HTMLResponse:
    c = console(request)
    days = days_within(days)
    bucket_kind: Bucket = "hour" if bucket == "hour" and days <= 2 else "day"  # at most 48 hourly bars
    until = utcnow()
    stats = compliance_stats(c.engine, until - dt.timedelta(days=days), until, camera or None, bucket_kind)
    with Session(c.engine) as s:
        names = {cam.id: cam.name for cam in s.scalars(select(Camera))}
    step = dt.timedelta(hours=1) if bucket_kind == "hour" else dt.timedelta(days=1)
    last = until.replace(minute=0, second=0, microsecond=0)
    if bucket_kind == "day":
        last = last.replace(hour=0)
    count = days * 24 if bucket_kind == "hour" else days
    buckets = [last - step * (count - 1 - i) for i in range(count)]
    by_key = {(r.camera_id, r.bucket): r for r in stats.rows}
    series = {cam: [(b, by_key.get((cam, b))) for b in buckets] for cam in stats.totals()}
    peak = max([1] + [r.people for r in stats.rows] + [r.violations for r in stats.rows])
    return render(
        request,
        "dashboard.html",
        user,
        series=series,
        peak=peak,
        totals=stats.totals(),
        names=names,
        days=days,
        camera=camera,
        bucket=bucket_kind,
    )
