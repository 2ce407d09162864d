"""`ingest` and `inference`: how the stage workers read cameras and batch frames."""

from __future__ import annotations

from pydantic import Field

from maskwatch.config.base import Section


class IngestConfig(Section):
    open_timeout_s: float = Field(10.0, gt=0, le=120, description="Connecting and each read may take this long.")
    stall_timeout_s: float = Field(10.0, gt=0, le=600, description="No frame for this long: restart the stream.")
    backoff_initial_s: float = Field(1.0, gt=0, le=600)
    backoff_max_s: float = Field(60.0, gt=0, le=3600)
    jpeg_quality: int = Field(85, ge=30, le=100)
    health_interval_s: float = Field(
        10.0, gt=0, le=3600, description="Camera health is reported at least this often (and on every change)."
    )
    silence_factor: float = Field(
        3.0, ge=1.5, le=100, description="No health report for this many intervals: the camera counts as offline."
    )


class InferenceConfig(Section):
    batch_frames: int = Field(8, ge=1, le=256, description="Frames per batch, across cameras.")
    batch_wait_ms: int = Field(100, ge=0, le=10_000, description="Wait at most this long to fill a batch.")
    reclaim_idle_ms: int = Field(30_000, ge=1000, description="Take over frames a dead worker held this long.")
