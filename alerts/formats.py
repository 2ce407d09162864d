"""Alert messages as chat services show them: a Slack Block Kit message, a Microsoft Teams Adaptive
Card. Both come from one `Summary` of the alert, so the two say the same thing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from maskwatch.alerts.links import Links
from maskwatch.labels import display_name

DIGEST_LINES = 20  # events listed by name in a digest; the rest are counted
SLACK_HEADER_MAX = 150  # Slack's limits on a header and a section's text
SLACK_TEXT_MAX = 3000
SLACK_FIELDS_MAX = 10


def _parsed(value: object) -> dt.datetime | None:
    try:
        at = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return at.replace(tzinfo=dt.timezone.utc) if at.tzinfo is None else at.astimezone(dt.timezone.utc)


def readable_time(value: object) -> str:
    """A payload's time (ISO 8601, as payloads carry it) as people read it: to the second, in UTC.
    Anything else is shown as it is rather than refused: the alert matters more than its format."""
    at = _parsed(value)
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else str(value)


@dataclass(frozen=True)
class When:
    """A time among an alert's facts: Slack shows it in each reader's own time zone."""

    value: object  # the payload's ISO 8601 text

    def __str__(self) -> str:
        return readable_time(self.value)

    def slack(self) -> str:
        at, text = _parsed(self.value), slack_escape(str(self))
        return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{text}>" if at else text


@dataclass
class Summary:
    """What an alert says, whatever the service: a title, facts, a picture and a link."""

    title: str
    text: str  # one line: notifications, and clients that show no cards
    facts: list[tuple[str, str | When]]
    items: list[tuple[str, str | None]] = field(default_factory=list)  # a digest's events, each with its link
    image_url: str | None = None
    image_alt: str = ""
    link_url: str | None = None
    link_label: str = "Open in maskwatch"
    good: bool = False  # good news (a camera back online), not a problem


def _violation(payload: dict[str, Any], links: Links) -> Summary:
    events = payload.get("events") or [payload]
    first = events[0]
    camera = f"{first['camera_name']} ({first['camera_id']})"
    what = display_name(first["label"])
    image = links.image(first["event_id"])
    blurred = "" if links.faces else " (faces blurred)"
    seen = readable_time(first["started_at"])
    if len(events) == 1:
        return Summary(
            title=f"{what}: {first['camera_name']}",
            text=f"maskwatch: {what} at {first['camera_name']}, {seen} (event {first['event_id']})",
            facts=[
                ("Camera", camera),
                ("Seen", When(first["started_at"])),
                ("Score", f"{float(first['score']):.2f}"),
                ("Event", str(first["event_id"])),
            ],
            image_url=image[0] if image else None,
            image_alt=f"{what} at {first['camera_name']}{blurred}",
            link_url=links.violation(first["event_id"]),
            link_label="Open violation",
        )
    items = [
        (
            f"{readable_time(e['started_at'])}  {display_name(e['label'])}  (event {e['event_id']})",
            links.violation(e["event_id"]),
        )
        for e in events[:DIGEST_LINES]
    ]
    if len(events) > DIGEST_LINES:
        items.append((f"and {len(events) - DIGEST_LINES} more", None))
    return Summary(
        title=f"{len(events)} violations: {first['camera_name']}",
        text=f"maskwatch: {len(events)} violations at {first['camera_name']} since {seen}",
        facts=[("Camera", camera), ("First", When(first["started_at"])), ("Last", When(events[-1]["started_at"]))],
        items=items,
        image_url=image[0] if image else None,
        image_alt=f"The first of them at {first['camera_name']}{blurred}",
        link_url=links.camera_violations(first["camera_id"]),
        link_label="Open the camera's violations",
    )


def camera_reason(payload: dict[str, Any]) -> str:
    """Why the camera is down, as the message says it: the payload's `reason` (its `detail` without the
    retry schedule and the camera's name), or, in alerts queued before payloads had one, `detail`."""
    return str(payload.get("reason") or payload.get("detail") or payload.get("state") or "unknown")


def _camera(payload: dict[str, Any], links: Links) -> Summary:
    name, cam = payload["camera_name"], payload["camera_id"]
    link = links.camera(cam)
    since = When(payload["down_since"])
    if payload["type"] == "camera_offline":
        reason = camera_reason(payload)
        return Summary(
            title=f"Camera {name} is not being watched",
            text=f"maskwatch: camera {name} is not being watched since {since} ({reason})",
            facts=[("Camera", f"{name} ({cam})"), ("Since", since), ("Reason", reason)],
            link_url=link,
            link_label="Open camera",
        )
    minutes = float(payload.get("down_for_s", 0)) / 60
    return Summary(
        title=f"Camera {name} is back online",
        text=f"maskwatch: camera {name} is watched again since {When(payload['at'])}, after {minutes:.1f} min",
        facts=[
            ("Camera", f"{name} ({cam})"),
            ("Back since", When(payload["at"])),
            ("Without coverage", f"{minutes:.1f} min, from {since}"),
        ],
        link_url=link,
        link_label="Open camera",
        good=True,
    )


def summary(payload: dict[str, Any], links: Links) -> Summary:
    """Raises KeyError, TypeError or ValueError for a payload that lacks what its type needs."""
    kind = payload.get("type", "violation")
    if kind == "violation":
        return _violation(payload, links)
    if kind in ("camera_offline", "camera_online"):
        return _camera(payload, links)
    if kind == "test":
        return Summary(
            title="maskwatch test alert",
            text=f"maskwatch: {payload['text']}",
            facts=[("Sent", When(payload["at"]))],
            good=True,
        )
    raise ValueError(f"no chat message for alerts of type {kind!r}")


def slack_escape(text: str) -> str:
    """Text for Slack mrkdwn: `<`, `>` and `&` would start a link or a mention (`<!channel>`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_value(value: str | When) -> str:
    return value.slack() if isinstance(value, When) else slack_escape(value)


def slack_message(s: Summary) -> dict[str, Any]:
    """A Block Kit message for a Slack incoming webhook; `text` is the notification and fallback. Only
    plain_text (the header, button labels) is shown as it is: everything else is mrkdwn, escaped."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": s.title[:SLACK_HEADER_MAX], "emoji": False}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{slack_escape(k)}*\n{_slack_value(v)}"[:2000]}
                for k, v in s.facts[:SLACK_FIELDS_MAX]
            ],
        },
    ]
    if s.items:
        lines = [f"• <{url}|{slack_escape(t)}>" if url else f"• {slack_escape(t)}" for t, url in s.items]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:SLACK_TEXT_MAX]}})
    if s.image_url:
        blocks.append({"type": "image", "image_url": s.image_url, "alt_text": s.image_alt or s.title})
    if s.link_url:
        button = {"type": "button", "text": {"type": "plain_text", "text": s.link_label}, "url": s.link_url}
        if not s.good:
            button["style"] = "primary"
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": slack_escape(s.text), "blocks": blocks}


def teams_message(s: Summary) -> dict[str, Any]:
    """An Adaptive Card in a message, as Teams incoming webhooks and Workflows webhooks take it."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": s.title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": "Good" if s.good else "Attention",
        },
        {"type": "FactSet", "facts": [{"title": k, "value": str(v)} for k, v in s.facts]},
    ]
    for text, url in s.items:
        body.append({"type": "TextBlock", "text": f"[{text}]({url})" if url else text, "wrap": True, "spacing": "None"})
    if s.image_url:
        body.append({"type": "Image", "url": s.image_url, "altText": s.image_alt or s.title, "size": "Stretch"})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "fallbackText": s.text,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if s.link_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": s.link_label, "url": s.link_url}]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }
