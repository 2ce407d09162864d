"""The alert dispatcher: drains the outbox the recorder fills, one channel at a time each.

Every channel (each webhook, the e-mail, MQTT) has its own worker thread, so a dead or slow
endpoint only delays its own alerts. A failed delivery is retried with exponential back-off;
after `max_attempts`, or at once when the receiver rejects the alert outright, it is
dead-lettered. Every attempt is recorded. Rows are claimed with SELECT ... FOR UPDATE SKIP
LOCKED, so several dispatchers may run against one Postgres.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from maskwatch import metrics
from maskwatch.alerts.channels import DeliveryError, send_email, send_webhook
from maskwatch.alerts.links import Links, link_notes
from maskwatch.alerts.mqtt import MqttPublisher
from maskwatch.config import Settings, WebhookConfig
from maskwatch.errors import MaskwatchError
from maskwatch.stages import RETRY_MAX_S, Outage
from maskwatch.storage.models import DeliveryAttempt, OutboxAlert, iso_utc, utcnow

log = logging.getLogger(__name__)

Sender = Callable[[dict[str, Any]], str]


class Dispatcher:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.alerts = settings.alerts
        self.engine = engine
        self._http = httpx.Client()
        self.senders: dict[str, Sender] = {}
        for i, hook in enumerate(self.alerts.webhooks):
            self.senders[f"webhook:{i}"] = self._webhook_sender(f"webhook:{i}", hook)
        if self.alerts.email is not None:
            email = self.alerts.email
            self.senders["email"] = lambda p: send_email(email, p)
        self.mqtt: MqttPublisher | None = None
        if self.alerts.mqtt is not None:
            links = Links(settings.web, "mqtt", self.alerts.mqtt.image_faces)
            self.mqtt = MqttPublisher(self.alerts.mqtt, links, self._latest_camera_state)
            self.senders["mqtt"] = self.mqtt.send

    def _webhook_sender(self, channel: str, hook: WebhookConfig) -> Sender:
        links = Links(self.settings.web, channel, faces=hook.image_faces, images=hook.image)
        return lambda payload: send_webhook(self._http, hook, self.alerts, payload, links)

    def _latest_camera_state(self, camera_id: str) -> str | None:
        """When the camera state last delivered over MQTT happened (the outbox is in event order)."""
        with Session(self.engine) as s:
            payload = s.scalar(
                select(OutboxAlert.payload)
                .where(OutboxAlert.channel == "mqtt", OutboxAlert.state == "delivered")
                .where(OutboxAlert.kind.in_(("camera_offline", "camera_online")))
                .where(OutboxAlert.payload["camera_id"].as_string() == camera_id)
                .order_by(OutboxAlert.id.desc())
                .limit(1)
            )
        return None if payload is None else str(payload["at"])

    def backoff(self, attempts: int) -> dt.timedelta:
        seconds = min(self.alerts.backoff_initial_s * 2 ** max(attempts - 1, 0), self.alerts.backoff_max_s)
        return dt.timedelta(seconds=seconds)

    def run_channel_once(self, channel: str, limit: int = 20) -> int:
        """Deliver what is due on one channel, each alert at most once; returns how many were attempted."""
        done = 0
        attempted: list[int] = []
        for _ in range(limit):
            with Session(self.engine) as s, s.begin():
                now = utcnow()
                query = (
                    select(OutboxAlert)
                    .where(
                        OutboxAlert.channel == channel,
                        OutboxAlert.state == "pending",
                        OutboxAlert.next_attempt_at <= now,
                    )
                    .order_by(OutboxAlert.next_attempt_at, OutboxAlert.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if attempted:
                    query = query.where(OutboxAlert.id.not_in(attempted))
                row = s.scalars(query).first()
                if row is None:
                    break
                group = self._cooldown_group(s, row, now)
                if group is None:
                    attempted.append(row.id)
                    continue
                self._deliver(s, channel, group, now)
                attempted.extend(g.id for g in group)
                done += len(group)
        return done

    def _cooldown_group(self, s: Session, row: OutboxAlert, now: dt.datetime) -> list[OutboxAlert] | None:
        """With a cooldown, alerts of a camera within the window wait and then go out as one digest."""
        cooldown = self.alerts.cooldown_s
        if cooldown <= 0 or row.attempts > 0 or row.kind != "violation":
            return [row]
        camera = row.payload["camera_id"]
        last = s.scalar(
            select(OutboxAlert.delivered_at)
            .where(
                OutboxAlert.channel == row.channel, OutboxAlert.state == "delivered", OutboxAlert.kind == "violation"
            )
            .where(OutboxAlert.payload["camera_id"].as_string() == camera)
            .order_by(OutboxAlert.delivered_at.desc())
            .limit(1)
        )
        if last is not None and now < last + dt.timedelta(seconds=cooldown):
            row.next_attempt_at = last + dt.timedelta(seconds=cooldown)
            return None
        waiting = s.scalars(
            select(OutboxAlert)
            .where(OutboxAlert.channel == row.channel, OutboxAlert.state == "pending", OutboxAlert.attempts == 0)
            .where(OutboxAlert.kind == "violation", OutboxAlert.payload["camera_id"].as_string() == camera)
            .order_by(OutboxAlert.id)
            .with_for_update(skip_locked=True)
        ).all()
        return list(waiting) or [row]

    def _deliver(self, s: Session, channel: str, group: list[OutboxAlert], now: dt.datetime) -> None:
        payload = group[0].payload if len(group) == 1 else {**group[0].payload, "events": [g.payload for g in group]}
        sender = self.senders.get(channel)
        try:
            if sender is None:
                raise DeliveryError(f"channel {channel} is no longer configured", permanent=True)
            detail, ok, permanent = sender(payload), True, False
        except DeliveryError as exc:
            detail, ok, permanent = str(exc), False, exc.permanent
        except Exception as exc:  # a sender's bug or an unforeseen input: retried, never the thread's end
            log.exception("alerts %s: the sender failed unexpectedly", channel)
            detail, ok, permanent = f"unexpected {type(exc).__name__}: {exc}", False, False
        for row in group:
            row.attempts += 1
            s.add(DeliveryAttempt(outbox_id=row.id, ok=ok, detail=detail, at=now))
            if ok:
                row.state, row.delivered_at, row.last_error = "delivered", now, ""
            elif permanent or row.attempts >= self.alerts.max_attempts:
                row.state, row.last_error = "dead", detail
            else:
                row.last_error = detail
                row.next_attempt_at = now + self.backoff(row.attempts)
        outcome = "delivered" if ok else group[0].state if group[0].state == "dead" else "retry"
        metrics.ALERTS.labels(channel, outcome).inc(len(group))
        event_ids = [g.event_key for g in group]
        fields = {"channel": channel, "event_keys": event_ids, "camera_id": group[0].payload.get("camera_id")}
        if ok:
            log.info("alert delivered: channel=%s events=%s (%s)", channel, event_ids, detail, extra=fields)
        elif group[0].state == "dead":
            log.error(
                "alert dead-lettered after %d attempt(s): channel=%s events=%s: %s",
                group[0].attempts,
                channel,
                event_ids,
                detail,
                extra=fields,
            )
        else:
            log.warning(
                "alert attempt %d failed, retry at %s: channel=%s events=%s: %s",
                group[0].attempts,
                group[0].next_attempt_at.isoformat(),
                channel,
                event_ids,
                detail,
                extra=fields,
            )

    def send_test(self, channel: str | None = None) -> list[tuple[str, bool, str]]:
        """Send a test alert now on every channel (or one), past the outbox: (channel, delivered, detail).
        It proves an address, a secret or a chat format before a real violation depends on it."""
        if channel is not None and channel not in self.senders:
            known = ", ".join(self.senders) or "none configured"
            raise MaskwatchError(f"no alert channel {channel!r} (channels: {known})")
        at = utcnow()
        payload = {
            "type": "test",
            "event_key": f"test:{iso_utc(at)}",
            "at": iso_utc(at),
            "text": f"a test alert from maskwatch on {socket.gethostname()}: this channel works",
        }
        results = []
        for name, sender in self.senders.items():
            if channel not in (None, name):
                continue
            try:
                results.append((name, True, sender(dict(payload))))
            except DeliveryError as exc:
                results.append((name, False, str(exc)))
            except Exception as exc:  # reported like a delivery failure: the operator sees every channel
                results.append((name, False, f"unexpected {type(exc).__name__}: {exc}"))
        return results

    def retry_dead(self, ids: list[int] | None = None, channel: str | None = None) -> int:
        """Put dead-lettered alerts back in the queue with a fresh attempt budget; returns how many."""
        with Session(self.engine) as s, s.begin():
            query = select(OutboxAlert).where(OutboxAlert.state == "dead")
            if ids:
                query = query.where(OutboxAlert.id.in_(ids))
            if channel:
                query = query.where(OutboxAlert.channel == channel)
            rows = s.scalars(query.with_for_update()).all()
            for row in rows:
                row.state, row.attempts, row.next_attempt_at = "pending", 0, utcnow()
        log.info("re-queued %d dead-lettered alert(s)", len(rows))
        return len(rows)

    def reconfigure(self, settings: Settings) -> None:
        """Alert channels are not taken over by a reload: they change on a restart."""

    def drained(self) -> bool:
        """No alert is due now (pending alerts may still wait for a later retry)."""
        try:
            with Session(self.engine) as s:
                due = s.scalar(
                    select(OutboxAlert.id)
                    .where(OutboxAlert.state == "pending", OutboxAlert.next_attempt_at <= utcnow())
                    .where(OutboxAlert.channel.in_(list(self.senders)))
                    .limit(1)
                )
        except SQLAlchemyError:
            return False
        return due is None

    def run(self, stop: threading.Event, poll_s: float = 0.5) -> None:
        if not self.senders:
            log.info("no alert channels configured: violations are recorded without alerts")
            stop.wait()
            return
        for note in link_notes(self.settings):
            log.warning("alerts: %s", note, extra={"event": "alert_links_incomplete"})
        threads = [
            threading.Thread(target=self._channel_loop, args=(c, stop, poll_s), name=f"alerts-{c}", daemon=True)
            for c in self.senders
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.close()

    def close(self) -> None:
        """Close the connections the channels keep (HTTP, MQTT)."""
        self._http.close()
        if self.mqtt is not None:
            self.mqtt.close()

    def _channel_loop(self, channel: str, stop: threading.Event, poll_s: float) -> None:
        backoff = poll_s
        outage = Outage(f"alerts {channel}: database")
        while not stop.is_set():
            try:
                busy = self.run_channel_once(channel)
                backoff = poll_s
                outage.ok()
            except SQLAlchemyError as exc:
                outage.failed(getattr(exc, "orig", None) or exc, RETRY_MAX_S)
                busy = 0
                backoff = min(backoff * 2, RETRY_MAX_S)
            except Exception:  # the channel keeps going: an alert must never wait on a dead thread
                log.exception("alerts %s: unexpected error; retrying", channel)
                busy = 0
                backoff = min(backoff * 2, RETRY_MAX_S)
            if not busy:
                stop.wait(backoff)
