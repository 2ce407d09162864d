"""`alerts`: webhooks, e-mail, retries and digests."""

from __future__ import annotations

from pydantic import Field, SecretStr

from maskwatch.config.base import Section


class WebhookConfig(Section):
    url: str = Field(pattern=r"^https?://", description="Receiver; gets one JSON POST per violation.")
    secret: SecretStr | None = Field(None, description="HMAC-SHA256 key for X-Maskwatch-Signature.")
    inline_snapshot: bool = Field(False, description="Embed the snapshot as base64 instead of a snapshot_url.")
    timeout_s: float = Field(10.0, gt=0, le=120)


class EmailConfig(Section):
    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS before logging in.")
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    recipients: list[str] = Field(min_length=1)
    timeout_s: float = Field(20.0, gt=0, le=300)


class AlertsConfig(Section):
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    email: EmailConfig | None = None
    snapshot_base_url: str | None = Field(
        None, description="Public base URL of snapshots.dir, used to build snapshot_url in webhooks."
    )
    max_attempts: int = Field(8, ge=1, le=100, description="Then the alert is dead-lettered.")
    backoff_initial_s: float = Field(2.0, gt=0, le=3600)
    backoff_max_s: float = Field(600.0, gt=0, le=86_400)
    cooldown_s: float = Field(
        0.0, ge=0, le=86_400, description="Per camera: fold violations within this window into one digest (0: off)."
    )
    camera_alerts: bool = Field(True, description="Send camera_offline / camera_online alerts.")
    camera_grace_s: float = Field(
        60.0, ge=0, le=86_400, description="A camera must be down this long before a camera_offline alert."
    )
