"""What every configuration section shares: unknown keys are errors, and settings never change
once loaded (a reload builds new ones)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # `.nan` or `.inf` would otherwise pass a field without bounds, and fail a bounded one with a
    # misleading message ("should be less than or equal to 30").
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
