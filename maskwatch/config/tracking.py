"""`tracking`: how faces become people, and labels become confirmed violations."""

from __future__ import annotations

from pydantic import Field

from maskwatch.config.base import Section


class TrackingConfig(Section):
    """How faces become people: motion, look, confirmation. See docs/tracking.md."""

    iou_threshold: float = Field(
        0.3, gt=0, lt=1, description="A face overlapping a track's predicted box this much may join it however fast."
    )
    max_age_s: float = Field(
        3.0, gt=0, le=600, description="A track unseen this long is out of view: only its look can find it again."
    )
    reentry_s: float = Field(
        10.0,
        ge=0,
        le=86400,
        description="A person out of view longer than this has left: coming back is a new visit, counted again "
        "and possibly a new violation. Within it, the same visit goes on.",
    )
    appearance_gate: float = Field(
        0.3,
        gt=0,
        le=1,
        description="A face near a track that differs more than this in look (0 same, 1 nothing in common) is "
        "another person: the next person at the same spot starts their own track.",
    )
    reentry_gate: float = Field(
        0.15,
        ge=0,
        le=1,
        description="A track missing from the last frame (or out of view) is continued only by a face at most "
        "this far in look: the next person in a queue steps onto the spot the last one just left.",
    )
    motion_weight: float = Field(
        0.5, ge=0, le=10, description="Weight of the distance from a track's predicted box against the look distance."
    )
    count_after: int = Field(
        2,
        ge=1,
        le=100,
        description="Sightings evaluated before a track counts as a person (a stray detection does not).",
    )
    confirm_k: int = Field(3, ge=1, le=100, description="Violation labels needed among the last confirm_m.")
    confirm_m: int = Field(5, ge=1, le=100, description="How many of a track's latest evaluations confirm_k counts in.")
    confirm_min_s: float = Field(
        0.8,
        ge=0,
        le=60,
        description="The violation labels that confirm a violation span at least this long: at a high sample rate "
        "confirm_k labels come within a fraction of a second, too soon to tell a mask being put on from none.",
    )
    min_face_size: int = Field(24, ge=0, le=1024, description="Smaller faces are tracked, not evaluated.")
    min_face_score: float = Field(
        0.6, ge=0, le=1, description="Weaker detections are tracked, not evaluated (a poster's face scores ~0.5)."
    )
    reorder_window_s: float = Field(
        5.0,
        ge=0,
        le=50,
        description="Results of parallel workers are put back in frame order; a missing frame is waited for this "
        "long. Above inference.reclaim_idle_ms, frames of a crashed worker still arrive in order.",
    )
