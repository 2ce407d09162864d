"""`alerts`: webhooks, e-mail, retries and digests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from maskwatch.config.base import Section

# Port 465 is SMTP over TLS from the first byte (RFC 8314); any other port without STARTTLS is plain text.
SMTPS_PORT = 465
ADDRESS = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$"


IMAGE_FACES = (
    "The snapshot link shows the violator's face unblurred (everyone else stays blurred, as in every snapshot). "
    "Off: blurred too, as a console viewer without the faces grant sees it; anyone the message reaches can "
    "open the link until it expires (web.image_link_hours)."
)
MQTT_TLS_PORT = 8883


class WebhookConfig(Section):
    url: str = Field(pattern=r"^https?://", description="Receiver; gets one POST per alert.")
    format: Literal["json", "slack", "teams"] = Field(
        "json",
        description="json: maskwatch's own JSON body (the event's fields; with web.public_url also console_url, "
        "image_url and image_expires_at). slack: a Block Kit "
        "message for a Slack incoming webhook (text, the snapshot, a button to the console). teams: an Adaptive "
        "Card for a Microsoft Teams incoming webhook or Workflows webhook (the snapshot, an Open button). "
        "Pictures and buttons need web.public_url.",
    )
    secret: SecretStr | None = Field(
        None,
        description="HMAC-SHA256 key for X-Maskwatch-Signature (t=<unix time>,v1=<hex HMAC of '<t>.<body>'>); "
        "null: unsigned. Never empty. Sent with every format, but Slack and Teams do not check it (their "
        "webhook URL is the credential): it serves a relay that checks it before passing the message on.",
    )
    inline_snapshot: bool = Field(
        False, description="format json only: embed the snapshot as base64 instead of a snapshot_url."
    )
    image: bool = Field(
        True,
        description="Send the snapshot's signed link (json: image_url; slack, teams: the picture in the message). "
        "Slack refuses a message whose picture it cannot fetch: set false where web.public_url is not "
        "reachable from the chat service.",
    )
    image_faces: bool = Field(False, description=IMAGE_FACES)
    timeout_s: float = Field(10.0, gt=0, le=120, description="Seconds to wait for the receiver's answer.")

    @model_validator(mode="after")
    def _inline_json_only(self) -> WebhookConfig:
        if self.inline_snapshot and self.format != "json":
            raise ValueError(
                f"inline_snapshot works with format json only: {self.format} shows the snapshot from its "
                "signed link (set web.public_url)"
            )
        return self

    @field_validator("secret")
    @classmethod
    def _not_empty(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().strip():
            # Anyone can compute an HMAC with an empty key: such a signature proves nothing.
            raise ValueError("empty webhook secret: set one (e.g. from ${VAR}), or leave `secret` out to send unsigned")
        return v


class EmailConfig(Section):
    host: str = Field(min_length=1, description="SMTP server.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port: 587 with STARTTLS, or 465 for TLS from the start.")
    starttls: bool = Field(
        True,
        description="Upgrade the connection with STARTTLS before logging in. false on port 465: TLS from the first "
        "byte; false on another port: plain text.",
    )
    username: str | None = Field(None, description="SMTP login; null: send without logging in.")
    password: SecretStr | None = Field(None, description="SMTP password; use ${VAR} to keep it out of the file.")
    allow_plaintext_password: bool = Field(
        False,
        description="Allow sending the password over an unencrypted connection (starttls false, port other than "
        "465), e.g. to a relay on the same host. Anyone on the path can read it.",
    )
    sender: str = Field(pattern=ADDRESS, description="From address.")
    recipients: list[str] = Field(min_length=1, description="To addresses.")
    timeout_s: float = Field(20.0, gt=0, le=300, description="Seconds to wait for the SMTP server.")

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        bad = [i for i, address in enumerate(v) if not re.match(ADDRESS, address)]
        if bad:
            raise ValueError(f"not an e-mail address (user@host, no spaces or control characters): item(s) {bad}")
        return v

    @model_validator(mode="after")
    def _password_encrypted(self) -> EmailConfig:
        plaintext = not self.starttls and self.port != SMTPS_PORT
        password = self.password is not None and bool(self.password.get_secret_value())
        if plaintext and password and not self.allow_plaintext_password:
            raise ValueError(
                f"the SMTP password would cross the network unencrypted (starttls false on port {self.port}): "
                f"set starttls: true, use port {SMTPS_PORT}, or set allow_plaintext_password: true"
            )
        return self

    @property
    def implicit_tls(self) -> bool:
        """TLS from the first byte (SMTPS) rather than a STARTTLS upgrade."""
        return not self.starttls and self.port == SMTPS_PORT


class MqttConfig(Section):
    """An MQTT broker (Mosquitto, Home Assistant's, EMQX...) that gets violations and camera states."""

    host: str = Field(min_length=1, max_length=253, pattern=r"^[^\s/]+$", description="Broker host name or address.")
    port: int = Field(1883, ge=1, le=65535, description=f"Broker port: 1883 plain, {MQTT_TLS_PORT} with TLS.")
    tls: bool = Field(False, description="Connect over TLS, checking the broker's certificate and host name.")
    ca_file: Path | None = Field(
        None, description="tls only: CA certificates (PEM) to check the broker against; null: the system's."
    )
    username: str | None = Field(None, min_length=1, max_length=256, description="Login; null: anonymous.")
    password: SecretStr | None = Field(None, description="Broker password; use ${VAR} to keep it out of the file.")
    allow_plaintext_password: bool = Field(
        False,
        description="Allow sending the password without TLS, e.g. to a broker on the same host. Anyone on the "
        "path can read it.",
    )
    client_id: str = Field(
        "", max_length=64, pattern=r"^[A-Za-z0-9_.-]*$", description="MQTT client id; empty: a random one."
    )
    topic_prefix: str = Field(
        "maskwatch",
        max_length=100,
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
        description="Topics are <prefix>/<camera id>/violation (each violation, JSON as the json webhook) and "
        "<prefix>/<camera id>/state (online or offline, JSON, retained when retain_states).",
    )
    qos: int = Field(
        1,
        ge=1,
        le=2,
        description="1: at least once (a receiver may see a message twice; event_key tells), 2: exactly once. "
        "0 is not offered: the broker would not acknowledge, so a lost message would go unnoticed.",
    )
    retain_states: bool = Field(
        True, description="Retain each camera's state topic, so a subscriber learns it on connecting."
    )
    keepalive_s: int = Field(60, ge=5, le=3600, description="MQTT keep-alive of the connection, in seconds.")
    timeout_s: float = Field(
        10.0, gt=0, le=120, description="Seconds to wait to connect, and for each acknowledgement."
    )
    image_faces: bool = Field(False, description=IMAGE_FACES)

    @model_validator(mode="after")
    def _password_encrypted(self) -> MqttConfig:
        password = self.password is not None and bool(self.password.get_secret_value())
        if password and not self.tls and not self.allow_plaintext_password:
            raise ValueError(
                "the MQTT password would cross the network unencrypted: set tls: true (port "
                f"{MQTT_TLS_PORT}), or set allow_plaintext_password: true"
            )
        if self.ca_file is not None and not self.tls:
            raise ValueError("ca_file is set but tls is false: set tls: true, or remove ca_file")
        return self


class AlertsConfig(Section):
    webhooks: list[WebhookConfig] = Field(default_factory=list, description="Receivers of a POST per alert.")
    email: EmailConfig | None = Field(None, description="SMTP delivery; null: no e-mail.")
    mqtt: MqttConfig | None = Field(
        None, description="Publish violations and camera states to an MQTT broker; null: no MQTT."
    )
    snapshot_base_url: str | None = Field(
        None, description="Public base URL of snapshots.dir, used to build snapshot_url in webhooks."
    )
    max_attempts: int = Field(8, ge=1, le=100, description="Then the alert is dead-lettered.")
    backoff_initial_s: float = Field(2.0, gt=0, le=3600, description="Wait before the first retry; doubles each time.")
    backoff_max_s: float = Field(600.0, gt=0, le=86_400, description="Longest wait between retries.")
    cooldown_s: float = Field(
        0.0, ge=0, le=86_400, description="Per camera: fold violations within this window into one digest (0: off)."
    )
    camera_alerts: bool = Field(True, description="Send camera_offline / camera_online alerts.")
    camera_grace_s: float = Field(
        60.0, ge=0, le=86_400, description="A camera must be down this long before a camera_offline alert."
    )
