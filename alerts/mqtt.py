"""The MQTT channel: violations and camera states published to a broker (Home Assistant, Node-RED).

A delivery counts only when the broker acknowledges it (QoS 1 or 2), so the outbox retries
whatever a broker outage left unacknowledged, as for the other channels. One connection is kept
between deliveries and dropped at the first failure: the next delivery starts a fresh one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import ssl
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from maskwatch.alerts.channels import DeliveryError, json_body
from maskwatch.alerts.formats import camera_reason
from maskwatch.alerts.links import Links
from maskwatch.config.alerts import MqttConfig

log = logging.getLogger(__name__)

# The time of the state a camera last had on the broker, or None: a state the broker already has a
# newer one of must not overwrite it (a retry after an outage can come after the next state).
LatestState = Callable[[str], str | None]


def topics(cfg: MqttConfig, payload: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """(topic, message, retain) for each message an alert becomes: one per violation of a digest."""
    kind = payload.get("type", "violation")
    if kind in ("camera_offline", "camera_online"):
        state = {
            "state": "offline" if kind == "camera_offline" else "online",
            "camera_id": payload["camera_id"],
            "camera_name": payload["camera_name"],
            "since": payload["down_since"] if kind == "camera_offline" else payload["at"],
            "at": payload["at"],
            "detail": payload.get("detail") or "",
            "reason": camera_reason(payload) if kind == "camera_offline" else "",
            "event_key": payload["event_key"],
        }
        if "console_url" in payload:
            state["console_url"] = payload["console_url"]
        return [(f"{cfg.topic_prefix}/{payload['camera_id']}/state", state, cfg.retain_states)]
    if kind == "test":
        return [(f"{cfg.topic_prefix}/test", payload, False)]
    if kind != "violation":
        raise ValueError(f"no MQTT message for alerts of type {kind!r}")
    events = payload.get("events") or [payload]
    return [(f"{cfg.topic_prefix}/{e['camera_id']}/violation", e, False) for e in events]


class MqttPublisher:
    """Sends one alert at a time (the channel's thread); `send` raises DeliveryError on failure."""

    def __init__(self, cfg: MqttConfig, links: Links, latest_state: LatestState | None = None) -> None:
        self.cfg = cfg
        self.links = links
        self.latest_state = latest_state
        self.where = f"MQTT {cfg.host}:{cfg.port}"
        self._client: mqtt.Client | None = None

    def send(self, payload: dict[str, Any]) -> str:
        try:
            body = json_body(payload, self.links)
            messages = topics(self.cfg, body)
            skipped = self._superseded(body)
        except (KeyError, TypeError, ValueError) as exc:
            raise DeliveryError(f"cannot build the MQTT message: {type(exc).__name__}: {exc}", permanent=True) from None
        if skipped:
            return skipped
        client = self._connected()
        for topic, message, retain in messages:
            self._publish(client, topic, message, retain)
        names = sorted({t for t, _, _ in messages})
        return f"published {len(messages)} message(s) to {', '.join(names)} (QoS {self.cfg.qos}, acknowledged)"

    def _superseded(self, body: dict[str, Any]) -> str | None:
        if body.get("type") not in ("camera_offline", "camera_online") or self.latest_state is None:
            return None
        newer = self.latest_state(str(body["camera_id"]))
        if newer is not None and _instant(newer) > _instant(str(body["at"])):
            # Publishing would put an old state on the retained topic: the broker has the newer one.
            return f"not published: the broker already has the camera's newer state of {newer}"
        return None

    def _publish(self, client: mqtt.Client, topic: str, message: dict[str, Any], retain: bool) -> None:
        data = json.dumps(message, separators=(",", ":"), sort_keys=True)
        try:
            info = client.publish(topic, data, qos=self.cfg.qos, retain=retain)
            info.wait_for_publish(self.cfg.timeout_s)
        except (ValueError, RuntimeError) as exc:
            self.close()
            raise DeliveryError(f"{self.where}: publishing to {topic} failed: {exc}") from None
        if not info.is_published():
            self.close()
            raise DeliveryError(f"{self.where}: no acknowledgement for {topic} within {self.cfg.timeout_s:g} s")

    def _connected(self) -> mqtt.Client:
        if self._client is not None and self._client.is_connected():
            return self._client
        self.close()
        client = self._new_client()
        done = threading.Event()
        answer: dict[str, Any] = {}

        def on_connect(c: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
            answer["reason"] = reason
            done.set()

        client.on_connect = on_connect
        try:
            client.connect(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s)
        except ssl.SSLError as exc:
            raise DeliveryError(f"{self.where}: TLS handshake failed: {exc.reason or exc}") from None
        except OSError as exc:
            raise DeliveryError(f"{self.where}: cannot connect: {type(exc).__name__}: {exc}") from None
        client.loop_start()
        if not done.wait(self.cfg.timeout_s):
            _stop(client)
            raise DeliveryError(
                f"{self.where}: the broker did not answer the connection within {self.cfg.timeout_s:g} s"
            )
        reason = answer["reason"]
        if reason.is_failure:
            _stop(client)
            who = f" as {self.cfg.username}" if self.cfg.username else " anonymously"
            raise DeliveryError(f"{self.where}: the broker refused the connection{who}: {reason}")
        log.info("MQTT connected to %s:%d", self.cfg.host, self.cfg.port, extra={"channel": "mqtt"})
        self._client = client
        return client

    def _new_client(self) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.cfg.client_id, clean_session=True)
        client.connect_timeout = self.cfg.timeout_s
        if self.cfg.username is not None:
            password = self.cfg.password.get_secret_value() if self.cfg.password else None
            client.username_pw_set(self.cfg.username, password)
        if self.cfg.tls:
            context = ssl.create_default_context(cafile=str(self.cfg.ca_file) if self.cfg.ca_file else None)
            client.tls_set_context(context)
        return client

    def close(self) -> None:
        if self._client is not None:
            _stop(self._client)
            self._client = None


def _stop(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
