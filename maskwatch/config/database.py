"""`database` and `snapshots`: where violations, their pictures and camera history are kept, and for how long."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from maskwatch.config.base import RELATIVE_PATHS, Section


class DatabaseConfig(Section):
    url: str = Field(
        "sqlite:///data/maskwatch.db",
        description="sqlite:///path.db (sqlite:////abs/path.db for an absolute one) or "
        f"postgresql+psycopg2://user:pw@host/db. {RELATIVE_PATHS}",
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if not v.startswith(("sqlite://", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg2:// URL")
        return v


class SnapshotsConfig(Section):
    dir: Path = Field(
        Path("data/snapshots"),
        description=f"Violation snapshots (annotated frame + face crop) and live pictures. {RELATIVE_PATHS}",
    )
    jpeg_quality: int = Field(90, ge=30, le=100, description="JPEG quality of the snapshot files.")
    live_picture_s: float = Field(
        1.0,
        ge=0.2,
        le=60,
        description="Each camera's live picture in the console is renewed about this often. Inference passes "
        "a sampled frame's JPEG on to the record stage this often per camera (and whenever it holds a "
        "violation), so a shorter time costs queue traffic, not decoding.",
    )
    retention_days: int = Field(90, ge=1, le=3650, description="Snapshots and violations older than this are removed.")
    keep_unreviewed: bool = Field(
        False, description="Retention never removes a violation nobody has reviewed yet (it waits for a reviewer)."
    )
    keep_original: bool = Field(
        False,
        description="Also keep each snapshot frame unblurred (`*-original.jpg`). Off: everyone but the violator "
        "is blurred in the only copy kept, as data protection law expects of people who did nothing wrong.",
    )
