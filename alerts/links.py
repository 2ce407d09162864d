"""Links in alerts: to the violation or camera in the console, and a signed, expiring link to the
snapshot that the console serves without a login (console/shared_images.py checks it)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from maskwatch.config import Settings, WebConfig
from maskwatch.config.web import image_link_signature

SHARED_SNAPSHOT_PATH = "/shared/violations/{violation_id}/snapshot.jpg"


@dataclass(frozen=True)
class Links:
    """The links one channel puts in its alerts. `audience` names the channel in the signed link, so
    the console's record of who opened a picture says through which channel it came."""

    web: WebConfig
    audience: str
    faces: bool = False
    images: bool = True  # false: no snapshot links (a console the receiver cannot reach)
    clock: Callable[[], float] = field(default=time.time)

    @property
    def base(self) -> str | None:
        return self.web.public_url

    def violation(self, violation_id: int) -> str | None:
        return f"{self.base}/violations/{violation_id}" if self.base else None

    def camera(self, camera_id: str) -> str | None:
        return f"{self.base}/cameras/{quote(camera_id, safe='')}" if self.base else None

    def camera_violations(self, camera_id: str) -> str | None:
        return f"{self.base}/violations?{urlencode({'camera': camera_id})}" if self.base else None

    def image(self, violation_id: int) -> tuple[str, str] | None:
        """The snapshot's signed link and when it expires (ISO 8601, UTC), or None when it cannot be made.
        Signed at each delivery: a retry hours later still gets the whole validity."""
        key = self.web.image_link_key()
        if not self.base or key is None or not self.images:
            return None
        expires = int(self.clock() + self.web.image_link_hours * 3600)
        sig = image_link_signature(key, violation_id, expires, self.faces, self.audience)
        query = urlencode({"expires": expires, "faces": int(self.faces), "via": self.audience, "sig": sig})
        url = f"{self.base}{SHARED_SNAPSHOT_PATH.format(violation_id=violation_id)}?{query}"
        at = dt.datetime.fromtimestamp(expires, dt.timezone.utc).isoformat().replace("+00:00", "Z")
        return url, at

    def add_to(self, body: dict[str, Any]) -> None:
        """`console_url`, and for a violation `image_url` and `image_expires_at`, into an alert's JSON body."""
        kind = body.get("type", "violation")
        if kind == "violation" and isinstance(body.get("event_id"), int):
            console_url = self.violation(body["event_id"])
            image = self.image(body["event_id"])
            if image is not None:
                body["image_url"], body["image_expires_at"] = image
        elif kind in ("camera_offline", "camera_online") and "camera_id" in body:
            console_url = self.camera(str(body["camera_id"]))
        else:
            return
        if console_url is not None:
            body["console_url"] = console_url


def link_notes(settings: Settings) -> list[str]:
    """What the configuration leaves out of alerts, for `maskwatch config check` and the alerts stage's start."""
    alerts, web = settings.alerts, settings.web
    if not alerts.webhooks and alerts.mqtt is None:
        return []
    notes: list[str] = []
    if web.public_url is None:
        notes.append(
            "web.public_url is not set: alerts carry no link to the console and no snapshot link; set it to the "
            "address people open the console at (e.g. https://maskwatch.example.org)"
        )
        chat = [f"webhook:{i} ({h.format})" for i, h in enumerate(alerts.webhooks) if h.format != "json"]
        if chat:
            notes.append(f"{', '.join(chat)}: the message will have no picture and no button without web.public_url")
    elif web.image_link_key() is None:
        notes.append(
            "neither web.image_link_secret nor web.session_secret is set: alerts link to the console but carry no "
            "snapshot link (the console could not check its signature)"
        )
    return notes
