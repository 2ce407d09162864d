"""Server-rendered pages: the violation list and page, reviews (one at a time, from the keyboard,
or many at once from the list), the pictures, and the dashboard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from maskwatch.console.auth import Principal, check_csrf, csrf_token
from maskwatch.console.deps import MAX_ROW_ID, PageNumber, PageUser, ViolationId, console
from maskwatch.console.pictures import picture
from maskwatch.labels import DISPLAY_NAMES
from maskwatch.storage.cameras import coverage_gaps, not_watched_seconds
from maskwatch.storage.compliance import Bucket, StatRow, compliance_stats
from maskwatch.storage.models import Camera, CameraStatusEvent, utcnow
from maskwatch.storage.violations import (
    MAX_BULK_REVIEW,
    ReviewError,
    ViolationFilter,
    context_frames,
    find_violations,
    get_violation,
    image_views,
    neighbours,
    record_image_view,
    set_review,
    set_reviews,
)

router = APIRouter(include_in_schema=False)
LABELS = DISPLAY_NAMES
STATES = {"unreviewed": "Unreviewed", "confirmed": "Confirmed", "false_positive": "False positive"}
MAX_DAYS = 366  # of history on the dashboard and a camera's page
DEFAULT_DAYS = 7  # the dashboard's period when the URL names none
PERIODS = (1, DEFAULT_DAYS, 14, 30, 90, 365)  # offered on the dashboard; any 1..MAX_DAYS is accepted
FILTERS = ("camera", "label", "state", "since", "until")  # the list's filter, carried from page to page


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


def _listing(request: Request) -> dict[str, str]:
    """The list's filter from the URL's query: only the known fields, only those set."""
    return {k: v for k in FILTERS if (v := request.query_params.get(k, ""))}


def _as_filter(query: dict[str, str]) -> ViolationFilter:
    day = _day(query.get("since"))
    return ViolationFilter(
        query.get("camera"), day, _day_after(_day(query.get("until"))), query.get("label"), query.get("state")
    )


def _list_url(query: dict[str, str]) -> str:
    return f"/violations?{urlencode(query)}" if query else "/violations"


def _violation_url(violation_id: int, query: dict[str, str]) -> str:
    return f"/violations/{violation_id}?{urlencode(query)}" if query else f"/violations/{violation_id}"


def _posted_listing(text: str) -> dict[str, str]:
    """The list's filter sent back by a form, as a query string: only the known fields survive, so
    the page redirected to is always one of this console's lists."""
    return {k: v for k, v in parse_qsl(text) if k in FILTERS and v}


@router.get("/")
def home() -> Response:
    return RedirectResponse("/violations", 303)


@router.get("/violations")
def violations(request: Request, user: PageUser, page: PageNumber = 1) -> HTMLResponse:
    c = console(request)
    query = _listing(request)
    size = c.settings.web.page_size
    with Session(c.engine) as s:
        cameras = list(s.scalars(select(Camera).order_by(Camera.name)))
    if query.get("camera") and query["camera"] not in {cam.id for cam in cameras}:
        # A mistyped or stale link would otherwise read as "no violations there".
        known = ", ".join(cam.id for cam in cameras) or "none yet"
        raise HTTPException(status_code=404, detail=f"No camera {query['camera']!r} (cameras: {known}).")
    rows, total = find_violations(c.engine, _as_filter(query), page, size)
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
        query={k: query.get(k, "") for k in FILTERS},
        listing=urlencode(query),
        notice=request.session.pop("notice", ""),
        qs=lambda p: urlencode({**query, "page": p}),
        link=lambda vid: _violation_url(vid, query),
    )


@router.get("/compliance")
def compliance(request: Request) -> RedirectResponse:
    """The navigation says Compliance: the address a person would type leads there too."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/dashboard{query}", status_code=307)


@router.get("/violations/{violation_id}")
def violation(request: Request, user: PageUser, violation_id: ViolationId) -> HTMLResponse:
    c = console(request)
    try:
        v, camera_name, events = get_violation(c.engine, violation_id)
    except ReviewError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    query = _listing(request)
    newer, older = neighbours(c.engine, _as_filter(query), v.id)
    return render(
        request,
        "violation.html",
        user,
        v=v,
        camera_name=camera_name,
        events=events,
        views=image_views(c.engine, v.id) if user.can_review else [],
        context=context_frames(c.engine, v.id),
        listing=urlencode(query),
        back=_list_url(query),
        newer=_violation_url(newer, query) if newer else None,
        older=_violation_url(older, query) if older else None,
    )


@router.post("/violations/{violation_id}/review")
def review(
    request: Request,
    user: PageUser,
    violation_id: ViolationId,
    state: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
    label: Annotated[str, Form()] = "",
    listing: Annotated[str, Form(max_length=2000)] = "",
    advance: Annotated[bool, Form()] = False,
) -> Response:
    """`advance`: then open the next violation of the list the reviewer came from (the keyboard flow)."""
    check_csrf(request, csrf)
    if not user.can_review:
        raise HTTPException(status_code=403, detail="viewers cannot review; ask for the reviewer role")
    c = console(request)
    try:
        set_review(c.engine, violation_id, user.name, state, label or None)
    except ReviewError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    query = _posted_listing(listing)
    if not advance:
        return RedirectResponse(_violation_url(violation_id, query), 303)
    _, older = neighbours(c.engine, _as_filter(query), violation_id)
    if older is None:
        request.session["notice"] = "That was the last violation in this list."
        return RedirectResponse(_list_url(query), 303)
    return RedirectResponse(_violation_url(older, query), 303)


@router.post("/violations/review")
def review_many(
    request: Request,
    user: PageUser,
    state: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
    ids: Annotated[list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] | None, Form(max_length=MAX_BULK_REVIEW)] = None,
    listing: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The violations ticked on the list, confirmed or dismissed together; back to the same list."""
    check_csrf(request, csrf)
    if not user.can_review:
        raise HTTPException(status_code=403, detail="viewers cannot review; ask for the reviewer role")
    if not ids:
        raise HTTPException(status_code=422, detail="tick at least one violation first")
    try:
        done = set_reviews(console(request).engine, ids, user.name, state)
    except ReviewError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    request.session["notice"] = f"{len(done)} violation(s) marked {STATES[state].lower()}."
    return RedirectResponse(_list_url(_posted_listing(listing)), 303)


@router.get("/violations/{violation_id}/image/{kind}")
def image(request: Request, user: PageUser, violation_id: ViolationId, kind: str) -> Response:
    """Snapshots only through here: the path comes from the database, never from the request."""
    if kind not in ("frame", "crop"):
        raise HTTPException(status_code=404, detail=f"no picture {kind!r}: frame or crop")
    c = console(request)
    try:
        v, _, _ = get_violation(c.engine, violation_id)
    except ReviewError:
        raise HTTPException(status_code=404, detail=f"no violation with id {violation_id}") from None
    path = servable(c.snapshots_root, v.snapshot_path if kind == "frame" else v.crop_path)
    if path is None:
        raise HTTPException(status_code=404, detail="snapshot not available (removed by retention?)")
    blurred = not user.sees_faces
    record_image_view(c.engine, v.id, user.name, kind, blurred)
    x1, y1, x2, y2 = v.box
    return picture(path, kind, (x1, y1, x2, y2), blurred, mark=(v.label, v.score))


@router.get("/violations/{violation_id}/context/{position}")
def context_image(
    request: Request,
    user: PageUser,
    violation_id: ViolationId,
    position: Annotated[int, PathParam(ge=0, le=99)],
) -> Response:
    """A context picture: served like the snapshot, the violator's face blurred for who may not see it."""
    c = console(request)
    found = next((f for f in context_frames(c.engine, violation_id) if f.position == position), None)
    path = servable(c.snapshots_root, found.path) if found else None
    if found is None or path is None:
        raise HTTPException(status_code=404, detail="context picture not available")
    blurred = not user.sees_faces
    record_image_view(c.engine, violation_id, user.name, "context", blurred)
    x1, y1, x2, y2 = found.box
    return picture(path, "context", (x1, y1, x2, y2), blurred)


def servable(root: Path, stored: str) -> Path | None:
    """The snapshot file at a path from the database, if it is there and inside the snapshot folder."""
    path = Path(stored).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def _site(totals: dict[str, StatRow]) -> StatRow:
    """Every camera's counts together: the site-wide compliance."""
    site = StatRow("all", utcnow())
    for t in totals.values():
        site.people += t.people
        site.violations += t.violations
        site.false_positives += t.false_positives
    return site


def _chart(points: list[tuple[dt.datetime, StatRow | None]]) -> dict[str, list[Any]]:
    """A camera's series as the chart script reads them: bucket starts (epoch seconds), counts, and
    compliance in percent (null where nobody was evaluated)."""
    rows = [r or StatRow("", b) for b, r in points]
    return {
        "x": [int(b.timestamp()) for b, _ in points],
        "people": [r.people for r in rows],
        "violations": [r.violations for r in rows],
        "compliance": [None if r.compliance is None else round(100 * r.compliance, 1) for r in rows],
    }


def _period_choices(days: int) -> list[int]:
    """The dashboard's periods to pick from: the usual ones, and the one shown if it is another."""
    return sorted({*PERIODS, days})


def duration_text(seconds: float) -> str:
    """How long a camera was not watched, as an operator reads it: "—" for never, "2 h 5 min", "3 d 4 h"."""
    if seconds < 1:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _never_connected(engine: Engine, cameras: Iterable[str]) -> set[str]:
    """Of `cameras`, those that never once streamed: their ingest has only ever reported trouble."""
    wanted = set(cameras)
    with Session(engine) as s:
        streamed = s.scalars(
            select(CameraStatusEvent.camera_id)
            .where(CameraStatusEvent.state == "online", CameraStatusEvent.camera_id.in_(wanted))
            .distinct()
        )
        return wanted - set(streamed)


def _buckets(until: dt.datetime, days: int, bucket: Bucket) -> list[dt.datetime]:
    """The starts of the chart's bars, oldest first, the last one the bucket `until` falls in."""
    step = dt.timedelta(hours=1) if bucket == "hour" else dt.timedelta(days=1)
    last = until.replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        last = last.replace(hour=0)
    count = days * 24 if bucket == "hour" else days
    return [last - step * (count - 1 - i) for i in range(count)]


@router.get("/dashboard")
def dashboard(
    request: Request, user: PageUser, days: int = DEFAULT_DAYS, camera: str = "", bucket: str = "day"
) -> HTMLResponse:
    c = console(request)
    days = days_within(days)
    bucket_kind: Bucket = "hour" if bucket == "hour" and days <= 2 else "day"  # at most 48 hourly bars
    until = utcnow()
    since = until - dt.timedelta(days=days)
    stats = compliance_stats(c.engine, since, until, camera or None, bucket_kind)
    before = compliance_stats(c.engine, since - dt.timedelta(days=days), since, camera or None, "day")
    with Session(c.engine) as s:
        names = {cam.id: cam.name for cam in s.scalars(select(Camera))}
    by_key = {(r.camera_id, r.bucket): r for r in stats.rows}
    totals = stats.totals()
    unwatched = not_watched_seconds(coverage_gaps(c.engine, since, until, camera or None), until)
    site, previous = _site(totals), _site(before.totals())
    trend = None
    if site.compliance is not None and previous.compliance is not None:
        trend = round(100 * (site.compliance - previous.compliance), 1)
    buckets = _buckets(until, days, bucket_kind)
    return render(
        request,
        "dashboard.html",
        user,
        # A camera that counted nobody gets no chart of empty bars: its row in the table says why.
        charts={
            cam: _chart([(b, by_key.get((cam, b))) for b in buckets])
            for cam, t in totals.items()
            if t.people or t.violations or t.false_positives
        },
        totals=totals,
        not_watched={cam: duration_text(unwatched.get(cam, 0.0)) for cam in totals},
        never_connected=_never_connected(c.engine, totals),
        site=site,
        previous=previous,
        trend=trend,
        names=names,
        days=days,
        periods=_period_choices(days),
        camera=camera,
        bucket=bucket_kind,
        hourly_refused=bucket == "hour" and bucket_kind != "hour",
    )
