"""`alerts`: webhooks, e-mail, retries and digests."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator, model_validator

from maskwatch.config.base import Section

# Port 465 is SMTP over TLS from the first byte (RFC 8314); any other port without STARTTLS is plain text.
SMTPS_PORT = 465
ADDRESS = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$"


class WebhookConfig(Section):
    url: str = Field(pattern=r"^https?://", description="Receiver; gets one JSON POST per violation.")
    secret: SecretStr | None = Field(
        None,
        description="HMAC-SHA256 key for X-Maskwatch-Signature (t=<unix time>,v1=<hex HMAC of '<t>.<body>'>); "
        "null: unsigned. Never empty.",
    )
    inline_snapshot: bool = Field(False, description="Embed the snapshot as base64 instead of a snapshot_url.")
    timeout_s: float = Field(10.0, gt=0, le=120, description="Seconds to wait for the receiver's answer.")

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


class AlertsConfig(Section):
    webhooks: list[WebhookConfig] = Field(default_factory=list, description="Receivers of a JSON POST per alert.")
    email: EmailConfig | None = Field(None, description="SMTP delivery; null: no e-mail.")
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
