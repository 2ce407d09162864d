"""A violation's snapshot through the signed, expiring link an alert carries (alerts/links.py): no
login, so a chat service can show it. The link names the violation, the channel it went to, whether
the violator's face shows, and until when; anything else about it gets 403."""

from __future__ import annotations

import hmac
import logging
import re
import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from maskwatch.config.web import image_link_signature
from maskwatch.console.deps import ViolationId, console
from maskwatch.console.pages import servable
from maskwatch.console.pictures import picture
from maskwatch.storage.violations import ReviewError, get_violation, record_image_view

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

# Each part of a link is checked by its signature, not by its form: whatever is wrong with it, 403.
Part = Annotated[str, Query(max_length=64)]
# The alerts stage and the console may run on machines whose clocks differ by this much.
CLOCK_SKEW_S = 300
_EPOCH_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII only: int() also reads other scripts' digits


def _expiry(expires: str) -> int:
    """The link's expiry as signed, or -1 (a value no link is signed with) for any other text."""
    return int(expires) if _EPOCH_DIGITS.fullmatch(expires) else -1


@router.api_route("/shared/violations/{violation_id}/snapshot.jpg", methods=["GET", "HEAD"])
def shared_snapshot(
    request: Request, violation_id: ViolationId, expires: Part = "", faces: Part = "", via: Part = "", sig: Part = ""
) -> Response:
    c = console(request)
    key = c.settings.web.image_link_key()
    # Checked before the database is asked: a bad link learns nothing about which violations exist.
    if key is None:
        raise HTTPException(status_code=403, detail="snapshot links are off (no web.image_link_secret)")
    until = _expiry(expires)
    shows_face = faces == "1"
    expected = image_link_signature(key, violation_id, until, shows_face, via)
    if faces not in ("0", "1") or not hmac.compare_digest(expected.encode(), sig.encode()):
        raise HTTPException(status_code=403, detail="not a valid snapshot link")
    now = time.time()
    if until < now:
        raise HTTPException(status_code=403, detail="this snapshot link has expired")
    # Signed for longer than links last now: shortening web.image_link_hours shortens the links already sent.
    if until > now + c.settings.web.image_link_hours * 3600 + CLOCK_SKEW_S:
        raise HTTPException(status_code=403, detail="this snapshot link is valid longer than web.image_link_hours")
    try:
        v, _, _ = get_violation(c.engine, violation_id)
    except ReviewError:
        raise HTTPException(status_code=404, detail="no such violation (erased?)") from None
    path = servable(c.snapshots_root, v.snapshot_path)
    if path is None:
        raise HTTPException(status_code=404, detail="snapshot not available (removed by retention?)")
    blurred = not shows_face
    if request.method == "HEAD":  # a chat service checking the link: nothing shown yet
        return Response(media_type="image/jpeg")
    record_image_view(c.engine, v.id, f"link:{via}", "frame", blurred)
    log.info(
        "snapshot of violation %d opened through a link sent to %s (blurred=%s)",
        v.id,
        via,
        blurred,
        extra={"event_id": v.id, "via": via, "blurred": blurred},
    )
    x1, y1, x2, y2 = v.box
    return picture(path, "frame", (x1, y1, x2, y2), blurred, mark=(v.label, v.score))
