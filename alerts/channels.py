"""Delivery channels: a webhook POST and an SMTP e-mail. Each raises `DeliveryError` on failure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from html import escape
from pathlib import Path
from typing import Any, cast

import httpx

from maskwatch.config import AlertsConfig, EmailConfig, WebhookConfig
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


def webhook_body(hook: WebhookConfig, alerts: AlertsConfig, payload: dict[str, Any]) -> bytes:
    body = dict(payload)
    if hook.inline_snapshot:
        data = _snapshot_bytes(payload)
        body["snapshot_base64"] = base64.b64encode(data).decode() if data else None
        body["snapshot_content_type"] = "image/jpeg"
    elif alerts.snapshot_base_url and payload.get("snapshot_relpath"):
        body["snapshot_url"] = f"{alerts.snapshot_base_url.rstrip('/')}/{payload['snapshot_relpath']}"
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_webhook(client: httpx.Client, hook: WebhookConfig, alerts: AlertsConfig, payload: dict[str, Any]) -> str:
    body = webhook_body(hook, alerts, payload)
    key = payload.get("event_key") or payload.get("event_id", "")
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": str(key),
        "X-Maskwatch-Event": str(payload.get("type", "violation")),
    }
    if hook.secret is not None:
        headers["X-Maskwatch-Signature"] = signature(hook.secret.get_secret_value(), body)
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


def camera_email(cfg: EmailConfig, payload: dict[str, Any]) -> EmailMessage:
    name, cam = payload["camera_name"], payload["camera_id"]
    msg = EmailMessage()
    if payload["type"] == "camera_offline":
        msg["Subject"] = f"[maskwatch] Camera {name} is not being watched"
        body = (
            f"Camera {name} ({cam}) has not been watched since {payload['down_since']}.\n"
            f"Reason: {payload['detail'] or payload['state']}\n\n"
            "maskwatch keeps retrying and will send another message when the camera is back.\n"
        )
    else:
        minutes = payload.get("down_for_s", 0) / 60
        msg["Subject"] = f"[maskwatch] Camera {name} is back online"
        body = (
            f"Camera {name} ({cam}) is watched again since {payload['at']}, "
            f"after {minutes:.1f} min without coverage (from {payload['down_since']}).\n"
        )
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.recipients)
    msg.set_content(body)
    return msg


def report_email(cfg: EmailConfig, payload: dict[str, Any]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"[maskwatch] {payload['title']}"
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.recipients)
    msg.set_content(payload["text"])
    msg.add_alternative(payload["html"], subtype="html")
    return msg


def email_message(cfg: EmailConfig, payload: dict[str, Any]) -> EmailMessage:
    if payload.get("type") in ("camera_offline", "camera_online"):
        return camera_email(cfg, payload)
    if payload.get("type") == "report":
        return report_email(cfg, payload)
    events = payload.get("events") or [payload]
    first = events[0]
    what = first["label"].replace("_", " ")
    subject = (
        f"[maskwatch] {first['camera_name']}: {what}"
        if len(events) == 1
        else f"[maskwatch] {first['camera_name']}: {len(events)} violations"
    )
    lines = [
        f"- {e['started_at']}  {e['label'].replace('_', ' ')}  (score {e['score']:.2f}, event {e['event_id']})"
        for e in events
    ]
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.recipients)
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


def send_email(cfg: EmailConfig, payload: dict[str, Any]) -> str:
    msg = email_message(cfg, payload)
    try:
        with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s) as smtp:
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
