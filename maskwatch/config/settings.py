"""The whole configuration: one section per part of maskwatch."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from maskwatch.config.alerts import AlertsConfig
from maskwatch.config.analyzer import AnalyzerConfig
from maskwatch.config.base import Section
from maskwatch.config.cameras import CameraConfig
from maskwatch.config.database import DatabaseConfig, SnapshotsConfig
from maskwatch.config.operations import LoggingConfig, MetricsConfig, ReportsConfig
from maskwatch.config.queue import QueueConfig
from maskwatch.config.tracking import TrackingConfig
from maskwatch.config.web import WebConfig
from maskwatch.config.workers import InferenceConfig, IngestConfig


class Settings(Section):
    """Top-level maskwatch configuration."""

    cameras: list[CameraConfig] = Field(default_factory=list)
    queue: QueueConfig = Field(default_factory=QueueConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    snapshots: SnapshotsConfig = Field(default_factory=SnapshotsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    inference: InferenceConfig = Field(default_factory=InferenceConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    analyzer: AnalyzerConfig = Field(default_factory=AnalyzerConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)

    @field_validator("cameras")
    @classmethod
    def _unique_ids(cls, cameras: list[CameraConfig]) -> list[CameraConfig]:
        ids = [c.id for c in cameras]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"camera ids must be unique; repeated: {', '.join(dupes)}")
        return cameras

    def redacted(self) -> dict[str, Any]:
        """The settings as plain data with every password, secret and URL credential masked. A
        webhook's URL is shown as its origin only: a Slack or Teams webhook's path is its credential."""
        from maskwatch.redact import redact_url, url_origin

        data = self.model_dump(mode="json")
        for cam in data["cameras"]:
            cam["url"] = redact_url(cam["url"])
        data["queue"]["url"] = redact_url(data["queue"]["url"])
        data["database"]["url"] = redact_url(data["database"]["url"])
        for hook in data["alerts"]["webhooks"]:
            hook["url"] = url_origin(hook["url"])
        if data["alerts"]["snapshot_base_url"]:
            # A base that paths are appended to: its path is a folder, but a user or token may precede the host.
            data["alerts"]["snapshot_base_url"] = redact_url(data["alerts"]["snapshot_base_url"])
        return data
