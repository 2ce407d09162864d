"""`queue`: the queue between stages and how much of each stream it keeps."""

from __future__ import annotations

from pydantic import Field, field_validator

from maskwatch.config.base import Section


class QueueConfig(Section):
    url: str = Field("memory://", description="memory:// (one process) or redis://host:port/db.")
    frames_maxlen: int = Field(
        200, ge=1, le=100_000, description="Unprocessed frames kept per camera; older ones are dropped and counted."
    )
    results_maxlen: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        description="Unrecorded results allowed; at this many, inference pauses (back-pressure) instead of dropping.",
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if not v.startswith(("memory://", "redis://", "rediss://", "unix://")):
            raise ValueError("must start with memory:// or redis://")
        return v
