"""What every configuration section shares: unknown keys are errors, and settings never change
once loaded (a reload builds new ones)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
