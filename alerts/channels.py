"""Delivery channels: a webhook POST and an SMTP e-mail. Each raises `DeliveryError` on failure."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import importlib.metadata
import json
import re
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.policy import default as EMAIL_POLICY
from email.utils import make_msgid
from html import escape
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import httpx

from maskwatch.alerts.formats import camera_reason, readable_time, slack_message, summary, teams_message
from maskwatch.alerts.links import Links
from maskwatch.config import AlertsConfig, EmailConfig, WebConfig, WebhookConfig
from maskwatch.redact import url_origin


class DeliveryError(Exception):
    """A delivery failed. `permanent` means retrying cannot help (the receiver rejected the alert)."""

    def __init__(self, detail: str, permanent: bool = False) -> None:
        super().__init__(detail)
        self.permanent = permanent


def _snapshot_bytes(payload: dict[str, Any]) -> bytes | None:
    path = payload.get("snapshot_path")
    try:
        return Path(path).read_bytes() if path else None
    except OSError:
        return None


_NO_WEB = WebConfig()  # no public_url: messages without links

# Where the server keeps files: for the e-mail (which attaches the snapshot), never for a receiver.
SERVER_ONLY = ("snapshot_path", "crop_path", "snapshot_relpath")


def _public(payload: dict[str, Any], base_url: str | None) -> dict[str, Any]:
    body = {k: v for k, v in payload.items() if k not in SERVER_ONLY}
    relpath = payload.get("snapshot_relpath")
    if base_url and relpath:
        body["snapshot_url"] = f"{base_url.rstrip('/')}/{quote(str(relpath))}"
    return body


def json_body(payload: dict[str, Any], links: Links | None, base_url: str | None = None) -> dict[str, Any]:
    """The alert as receivers of maskwatch's own JSON get it (webhooks of format json, MQTT)."""
    body = _public(payload, base_url)
    body.setdefault("type", "violation")  # alerts queued before every payload named its type
    if links is not None:
        links.add_to(body)
    if "events" in payload:  # a digest
        body["events"] = [_public(e, base_url) for e in payload["events"]]
        if links is not None:
            for event in body["events"]:
                links.add_to(event)
    return body


def webhook_body(
    hook: WebhookConfig, alerts: AlertsConfig, payload: dict[str, Any], links: Links | None = None
) -> bytes:
    if hook.format != "json":
        try:
            made = summary(payload, links or Links(_NO_WEB, "none"))
        except (KeyError, TypeError, ValueError) as exc:
            detail = f"cannot build the {hook.format} message: {type(exc).__name__}: {exc}"
            raise DeliveryError(detail, permanent=True) from None
        message = slack_message(made) if hook.format == "slack" else teams_message(made)
        return json.dumps(message, separators=(",", ":")).encode()
    base_url = None if hook.inline_snapshot else alerts.snapshot_base_url
    body = json_body(payload, links, base_url)
    if hook.inline_snapshot:
        data = _snapshot_bytes(payload)
        body["snapshot_base64"] = base64.b64encode(data).decode() if data else None
        body["snapshot_content_type"] = "image/jpeg"
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


@functools.cache
def user_agent() -> str:
    """`maskwatch/<version>`: receivers and their proxies can tell the sender (and filter on it)."""
    try:
        version = importlib.metadata.version("maskwatch")
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
        version = "unknown"
    return f"maskwatch/{version}"


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe signs: the receiver checks the
    time too, so a delivery captured on the way cannot be replayed later."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def send_webhook(
    client: httpx.Client,
    hook: WebhookConfig,
    alerts: AlertsConfig,
    payload: dict[str, Any],
    links: Links | None = None,
) -> str:
    body = webhook_body(hook, alerts, payload, links)
    key = payload.get("event_key") or payload.get("event_id", "")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": user_agent(),
        "Idempotency-Key": str(key),
        "X-Maskwatch-Event": str(payload.get("type", "violation")),
    }
    if hook.secret is not None:  # signed at each attempt: a retry hours later must not look stale
        headers["X-Maskwatch-Signature"] = signature(hook.secret.get_secret_value(), body, int(time.time()))
    # Webhook services (Slack, Teams, Zapier...) put the secret in the path: only the origin is
    # logged or stored; the channel name (webhook:<n>) tells hooks apart.
    where = url_origin(hook.url)
    try:
        response = client.post(hook.url, content=body, headers=headers, timeout=hook.timeout_s)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"POST {where}: {type(exc).__name__}: {exc}") from None
    if response.is_success:
        return f"HTTP {response.status_code}"
    # A 4xx other than timeout/rate limit means the receiver rejects this alert as it is.
    permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 425, 429)
    raise DeliveryError(f"POST {where}: HTTP {response.status_code} {response.text[:200]!r}", permanent=permanent)


# Control characters (CR and LF above all), DEL, C1 and Unicode line breaks: in a header they would
# start a new header, or make the e-mail library refuse the message.
_NOT_IN_HEADER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_text(text: str) -> str:
    """`text` on one line, whatever it holds: a camera name saved before names were checked, say."""
    return " ".join(_NOT_IN_HEADER.sub(" ", text).split())


def new_message(cfg: EmailConfig, subject: str) -> EmailMessage:
    # This policy refuses CR and LF in a header (no injected Bcc:), by raising; header_text makes sure
    # there are none to refuse, so an odd name cannot stop the alert.
    msg = EmailMessage(policy=EMAIL_POLICY)
    msg["Subject"] = header_text(subject)
    msg["From"] = header_text(cfg.sender)
    msg["To"] = ", ".join(header_text(r) for r in cfg.recipients)
    return msg


def camera_email(cfg: EmailConfig, payload: dict[str, Any]) -> EmailMessage:
    name, cam = payload["camera_name"], payload["camera_id"]
    if payload["type"] == "camera_offline":
        subject = f"[maskwatch] Camera {name} is not being watched"
        body = (
            f"Camera {name} ({cam}) has not been watched since {readable_time(payload['down_since'])}.\n"
            f"Reason: {camera_reason(payload)}\n\n"
            "maskwatch keeps retrying and will send another message when the camera is back.\n"
        )
    else:
        minutes = payload.get("down_for_s", 0) / 60
        subject = f"[maskwatch] Camera {name} is back online"
        body = (
            f"Camera {name} ({cam}) is watched again since {readable_time(payload['at'])}, after "
            f"{minutes:.1f} min without coverage (from {readable_time(payload['down_since'])}).\n"
        )
    msg = new_message(cfg, subject)
    msg.set_content(body)
    return msg


def report_email(cfg: EmailConfig, payload: dict[str, Any]) -> EmailMessage:
    msg = new_message(cfg, f"[maskwatch] {payload['title']}")
    msg.set_content(payload["text"])
    msg.add_alternative(payload["html"], subtype="html")
    return msg


def email_message(cfg: EmailConfig, payload: dict[str, Any]) -> EmailMessage:
    if payload.get("type") in ("camera_offline", "camera_online"):
        return camera_email(cfg, payload)
    if payload.get("type") == "report":
        return report_email(cfg, payload)
    if payload.get("type") == "test":
        msg = new_message(cfg, "[maskwatch] test alert")
        msg.set_content(f"{payload['text']}\n\nSent at {readable_time(payload['at'])}.\n")
        return msg
    events = payload.get("events") or [payload]
    first = events[0]
    what = first["label"].replace("_", " ")
    subject = (
        f"[maskwatch] {first['camera_name']}: {what}"
        if len(events) == 1
        else f"[maskwatch] {first['camera_name']}: {len(events)} violations"
    )
    lines = [
        f"- {readable_time(e['started_at'])}  {e['label'].replace('_', ' ')}  "
        f"(score {e['score']:.2f}, event {e['event_id']})"
        for e in events
    ]
    msg = new_message(cfg, subject)
    msg.set_content(f"Camera: {first['camera_name']} ({first['camera_id']})\n\n" + "\n".join(lines) + "\n")
    cid = make_msgid(domain="maskwatch.local")
    items = "".join(f"<li>{escape(line[2:])}</li>" for line in lines)
    msg.add_alternative(
        f"<html><body><p>Camera <b>{escape(first['camera_name'])}</b> ({escape(first['camera_id'])})</p>"
        f'<ul>{items}</ul><img src="cid:{cid[1:-1]}" alt="snapshot" style="max-width:100%"></body></html>',
        subtype="html",
    )
    snapshot = _snapshot_bytes(first)
    if snapshot is not None:
        html_part = cast(EmailMessage, msg.get_body(preferencelist=("html",)))
        html_part.add_related(snapshot, maintype="image", subtype="jpeg", cid=cid, filename="snapshot.jpg")
    return msg


def _connect(cfg: EmailConfig) -> smtplib.SMTP:
    if cfg.implicit_tls:
        return smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_s, context=ssl.create_default_context())
    return smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)


def send_email(cfg: EmailConfig, payload: dict[str, Any]) -> str:
    try:
        msg = email_message(cfg, payload)
    except (KeyError, TypeError, ValueError) as exc:
        # Retrying cannot mend the payload; raising anything else would end the channel's thread.
        raise DeliveryError(f"cannot build the e-mail: {type(exc).__name__}: {exc}", permanent=True) from None
    try:
        with _connect(cfg) as smtp:
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.username:
                password = cfg.password.get_secret_value() if cfg.password else ""
                smtp.login(cfg.username, password)
            refused = smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"SMTP {cfg.host}:{cfg.port}: login as {cfg.username} refused ({exc.smtp_code})") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {cfg.host}:{cfg.port}: {type(exc).__name__}: {exc}") from None
    if refused:
        raise DeliveryError(f"SMTP {cfg.host}:{cfg.port}: recipients refused: {sorted(refused)}")
    return f"sent to {len(cfg.recipients)} recipient(s)"
