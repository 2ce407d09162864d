"""`metrics`, `reports` and `logging`: what maskwatch tells the people and systems running it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from maskwatch.config.base import Section


class MetricsConfig(Section):
    port: int = Field(
        0, ge=0, le=65535, description="Serve /metrics, /healthz (liveness) and /readyz (readiness) here (0: off)."
    )
    address: str = Field("127.0.0.1", description="Address to serve metrics on (0.0.0.0 for every interface).")


class ReportsConfig(Section):
    daily_email: bool = Field(False, description="E-mail yesterday's compliance report through alerts.email.")
    hour_utc: int = Field(6, ge=0, le=23, description="When the daily report goes out (UTC hour).")


class LoggingConfig(Section):
    format: Literal["text", "json"] = Field(
        "text", description="text for a terminal; json: one object per line, camera_id/event_id as fields."
    )
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO")
