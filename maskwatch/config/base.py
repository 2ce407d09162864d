"""What every configuration section shares: unknown keys are errors, and settings never change
once loaded (a reload builds new ones)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# Paths are read as every process of the service reads them: from the current directory, which a
# unit file sets (systemd's WorkingDirectory) and which `make demo` is run in.
RELATIVE_PATHS = "A relative path is read from the current directory maskwatch runs in, not the config file's folder."


class Section(BaseModel):
    # `.nan` or `.inf` would otherwise pass a field without bounds, and fail a bounded one with a
    # misleading message ("should be less than or equal to 30").
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
