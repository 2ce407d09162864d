"""Writing alerts into the outbox, in the transaction of the event that raises them.

One row per (channel, event key): the unique constraint makes a replayed event unable to
alert twice, whichever process replays it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from maskwatch.config import Settings
from maskwatch.storage.models import OutboxAlert


def alert_channels(settings: Settings) -> list[str]:
    channels = [f"webhook:{i}" for i in range(len(settings.alerts.webhooks))]
    if settings.alerts.email is not None:
        channels.append("email")
    if settings.alerts.mqtt is not None:
        channels.append("mqtt")
    return channels


def enqueue(
    s: Session, channels: list[str], kind: str, payload: dict[str, Any], violation_id: int | None = None
) -> int:
    """Queue `payload` on every channel that does not have its event key yet; returns rows added."""
    key = str(payload["event_key"])
    have = set(s.scalars(select(OutboxAlert.channel).where(OutboxAlert.event_key == key)))
    added = 0
    for channel in channels:
        if channel not in have:
            s.add(OutboxAlert(kind=kind, event_key=key, violation_id=violation_id, channel=channel, payload=payload))
            added += 1
    return added
