"""The JSON API under /api/ (OpenAPI at /api/openapi.json): violations, reviews, stats, cameras."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from maskwatch.console.auth import Principal, check_csrf
from maskwatch.console.camera_pages import cameras_json
from maskwatch.console.deps import MAX_ROW_ID, ApiUser, PageNumber, ViolationId, console
from maskwatch.labels import CLASSES
from maskwatch.storage.compliance import compliance_stats
from maskwatch.storage.models import Camera, iso_utc, violation_json
from maskwatch.storage.violations import (
    MAX_BULK_REVIEW,
    REVIEW_STATES,
    ReviewError,
    ViolationFilter,
    context_frames,
    find_violations,
    get_violation,
    set_review,
    set_reviews,
)

router = APIRouter(tags=["maskwatch"])


def public(v: Any, camera_name: str) -> dict[str, Any]:
    """A violation for the API: file paths become authorised URLs."""
    data = {"id": v.id, **violation_json(v, camera_name)}
    del data["snapshot_path"], data["crop_path"]
    data["snapshot_url"] = f"/violations/{v.id}/image/frame"
    data["crop_url"] = f"/violations/{v.id}/image/crop"
    return data


@router.get("/violations", summary="Violations, newest first, filtered and paginated")
def list_violations(
    request: Request,
    _user: ApiUser,
    camera: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    label: Literal["without_mask", "mask_incorrect"] | None = None,
    state: Literal["unreviewed", "confirmed", "false_positive"] | None = None,
    page: PageNumber = 1,
    page_size: Annotated[int | None, Query(ge=1, le=500, description="default: web.page_size")] = None,
) -> dict[str, Any]:
    c = console(request)
    _known_camera(c.engine, camera)
    page_size = page_size or c.settings.web.page_size
    window = (_utc(since) if since else None, _utc(until) if until else None)  # no zone given: UTC
    rows, total = find_violations(c.engine, ViolationFilter(camera, *window, label, state), page, page_size)
    return {"total": total, "page": page, "page_size": page_size, "items": [public(v, n) for v, n in rows]}


@router.get("/violations/{violation_id}", summary="One violation with its review history")
def one_violation(request: Request, _user: ApiUser, violation_id: ViolationId) -> dict[str, Any]:
    try:
        v, name, events = get_violation(console(request).engine, violation_id)
    except ReviewError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    history = [{"user": e.user, "state": e.state, "label": e.label, "at": iso_utc(e.at)} for e in events]
    context = [
        {
            "url": f"/violations/{v.id}/context/{f.position}",
            "captured_at": iso_utc(f.captured_at),
            "label": f.label,
            "score": f.score,
        }
        for f in context_frames(console(request).engine, v.id)
    ]
    return {**public(v, name), "reviews": history, "context": context}


class ReviewIn(BaseModel):
    # A field the API does not know (reviewed_by, a misspelt label) is an error, not silently dropped.
    model_config = ConfigDict(extra="forbid")

    state: Literal["confirmed", "false_positive", "unreviewed"] = Field(description=", ".join(REVIEW_STATES))
    label: Literal["with_mask", "without_mask", "mask_incorrect"] | None = Field(
        None, description=f"the face's true class ({', '.join(CLASSES)}); for false positives default with_mask"
    )


class BulkReviewIn(ReviewIn):
    ids: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] = Field(
        min_length=1, max_length=MAX_BULK_REVIEW, description="the violations to decide, all or none"
    )


def _may_review(request: Request, user: Principal) -> None:
    if not user.can_review:
        raise HTTPException(status_code=403, detail=f"{user.name} is a viewer; reviewing needs the reviewer role")
    if not user.by_token:  # a browser session, whatever else the request carries: the CSRF header is required
        check_csrf(request, request.headers.get("x-csrf-token"))


def _reviewed(v: Any) -> dict[str, Any]:
    return {"id": v.id, "review_state": v.review_state, "review_label": v.review_label, "reviewed_by": v.reviewed_by}


@router.post("/violations/{violation_id}/review", summary="Confirm a violation or dismiss it (reviewers)")
def review(request: Request, user: ApiUser, violation_id: ViolationId, body: ReviewIn) -> dict[str, Any]:
    _may_review(request, user)
    try:
        v = set_review(console(request).engine, violation_id, user.name, body.state, body.label)
    except ReviewError as exc:
        raise HTTPException(status_code=404 if "no violation" in str(exc) else 422, detail=str(exc)) from None
    return _reviewed(v)


@router.post(
    "/violations/review",
    summary="Confirm or dismiss several violations at once (reviewers)",
    description="The same decision for every id, in one transaction: an unknown id changes nothing (422).",
)
def review_many(request: Request, user: ApiUser, body: BulkReviewIn) -> dict[str, Any]:
    _may_review(request, user)
    try:
        done = set_reviews(console(request).engine, body.ids, user.name, body.state, body.label)
    except ReviewError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return {"reviewed": [_reviewed(v) for v in done]}


@router.get("/stats", summary="Compliance per camera and hour or day, with denominators")
def stats(
    request: Request,
    _user: ApiUser,
    since: dt.datetime,
    until: dt.datetime | None = None,
    camera: str | None = None,
    bucket: Literal["hour", "day"] = "day",
) -> dict[str, Any]:
    until = until or dt.datetime.now(dt.timezone.utc)
    _known_camera(console(request).engine, camera)
    result = compliance_stats(console(request).engine, _utc(since), _utc(until), camera, bucket)
    return {
        "rows": [r.to_json() for r in result.rows],
        "totals": [t.to_json() | {"bucket": None} for t in result.totals().values()],
    }


@router.get("/cameras", summary="Cameras: state, why, and the live picture's address, age and frame rate")
def cameras(request: Request, _user: ApiUser) -> list[dict[str, Any]]:
    return sorted(cameras_json(request), key=lambda cam: str(cam["id"]))


def _utc(when: dt.datetime) -> dt.datetime:
    """In UTC (no zone given: UTC); a time near the ends of the calendar stops at the end."""
    if not when.tzinfo:
        return when.replace(tzinfo=dt.timezone.utc)
    try:
        return when.astimezone(dt.timezone.utc)
    except OverflowError:
        end = dt.datetime.max if when.year > 1 else dt.datetime.min
        return end.replace(tzinfo=dt.timezone.utc)


def _known_camera(engine: Engine, camera: str | None) -> None:
    """A mistyped camera is an error naming the cameras, not an empty answer that reads as "no violations"."""
    if camera is None:
        return
    with Session(engine) as s:
        known = list(s.scalars(select(Camera.id).order_by(Camera.id)))
    if camera not in known:
        raise HTTPException(status_code=404, detail=f"no camera {camera!r} (cameras: {', '.join(known) or 'none yet'})")
