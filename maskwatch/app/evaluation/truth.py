"""The ground truth of a clip for event-level evaluation: who is in it, when, where, and what they wear.

A truth file is JSON (or YAML) with this shape::

    {
      "version": 1,
      "clip": "walkthrough-01.mp4",          # relative to the truth file, or absolute
      "description": "16 people walk up to a counter one after another",
      "ignore_areas": [{"x1": 0.42, "y1": 0.15, "x2": 0.59, "y2": 0.54}],   # optional: a painting
      "people": [
        {
          "id": "p01",                          # unique within the clip: one real person
          "label": "without_mask",              # what they wear the whole time, or ...
          "labels": [[0.0, "without_mask"], [4.5, "with_mask"]],   # ... from each time on (seconds)
          "segments": [                         # when and where the face is in view
            [[1.0, 100, 200, 160, 270], [2.6, 600, 210, 662, 282], [5.0, 600, 210, 662, 282]]
          ]
        }
      ]
    }

Times are seconds from the clip's first frame. Each segment is a list of key frames
`[t, x1, y1, x2, y2]` (the face box in pixels) between which the box moves linearly; the face
is in view from a segment's first key frame to its last. A person who leaves and comes back has
several segments. A file that knows only who is there and what they wear (a real clip nobody
boxed) leaves `segments` out: it is scored on counts alone.

A person away for longer than `tracking.reentry_s` comes back as a new visit, and each visit
counts as a person evaluated and may be a violation of its own.
"""

from __future__ import annotations

import bisect
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from maskwatch.config import AreaConfig
from maskwatch.errors import MaskwatchError
from maskwatch.labels import CLASSES, VIOLATIONS

Box = tuple[float, float, float, float]
#: A person counts as a violator when a violation label covers at least this much of a visit
#: (the recorder needs a few samples to confirm; a mask pulled on within a second is not one).
MIN_VIOLATION_S = 1.0
TRUTH_VERSION = 1


class TruthError(MaskwatchError):
    """A ground-truth file is missing, malformed or inconsistent."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Model):
    id: str = Field(min_length=1, max_length=64, description="The person, unique within the clip.")
    label: str | None = Field(None, description="What they wear throughout (one of the classes).")
    labels: list[tuple[float, str]] | None = Field(
        None, description="[time, label] from each time on, for masks put on or taken off in view."
    )
    segments: list[list[tuple[float, float, float, float, float]]] | None = Field(
        None, description="Times in view, each a list of [t, x1, y1, x2, y2] key frames; none for count-only truth."
    )
    violation: bool | None = Field(
        None, description="Overrides the rule 'a violation label for at least 1 s of a visit'."
    )

    @field_validator("labels")
    @classmethod
    def _labels_known(cls, value: list[tuple[float, str]] | None) -> list[tuple[float, str]] | None:
        if value is not None:
            if not value:
                raise ValueError("labels is empty")
            if any(b[0] < a[0] for a, b in itertools.pairwise(value)):
                raise ValueError("labels must be in time order")
            for _, label in value:
                _check_label(label)
        return value

    @field_validator("label")
    @classmethod
    def _label_known(cls, value: str | None) -> str | None:
        return None if value is None else _check_label(value)

    @field_validator("segments")
    @classmethod
    def _segments_sane(
        cls, value: list[list[tuple[float, float, float, float, float]]] | None
    ) -> list[list[tuple[float, float, float, float, float]]] | None:
        for seg in value or []:
            if not seg:
                raise ValueError("a segment needs at least one key frame")
            if any(b[0] <= a[0] for a, b in itertools.pairwise(seg)):
                raise ValueError("key frames must be in strictly increasing time order")
            if any(k[3] <= k[1] or k[4] <= k[2] for k in seg):
                raise ValueError("a box must have x2 > x1 and y2 > y1")
        if value and any(b[0][0] <= a[-1][0] for a, b in itertools.pairwise(value)):
            raise ValueError("segments must be in time order and must not overlap")
        return value

    @model_validator(mode="after")
    def _one_label_form(self) -> Person:
        if (self.label is None) == (self.labels is None):
            raise ValueError("give exactly one of 'label' and 'labels'")
        return self

    def label_at(self, t: float) -> str:
        if self.labels is None:
            assert self.label is not None
            return self.label
        times = [at for at, _ in self.labels]
        return self.labels[max(bisect.bisect_right(times, t) - 1, 0)][1]

    def box_at(self, t: float) -> Box | None:
        """The face box at time `t`, interpolated between key frames; None when out of view."""
        for seg in self.segments or []:
            if seg[0][0] - 1e-6 <= t <= seg[-1][0] + 1e-6:
                return _interpolate(seg, t)
        return None


def _check_label(label: str) -> str:
    if label not in CLASSES:
        raise ValueError(f"unknown label {label!r}; one of {', '.join(CLASSES)}")
    return label


def _interpolate(seg: list[tuple[float, float, float, float, float]], t: float) -> Box:
    times = [k[0] for k in seg]
    i = bisect.bisect_right(times, t)
    if i <= 0:
        return seg[0][1:]
    if i >= len(seg):
        return seg[-1][1:]
    a, b = seg[i - 1], seg[i]
    w = (t - a[0]) / (b[0] - a[0])
    x1, y1, x2, y2 = (a[j] + w * (b[j] - a[j]) for j in range(1, 5))
    return (x1, y1, x2, y2)


class ClipTruth(_Model):
    version: int = Field(TRUTH_VERSION, ge=1, le=TRUTH_VERSION, description="Format version.")
    clip: str = Field(min_length=1, description="The clip, relative to the truth file or absolute.")
    description: str = Field("", max_length=4000, description="What happens in the clip.")
    ignore_areas: list[AreaConfig] = Field(
        default_factory=list,
        description="Parts of the picture the camera is set to ignore (a painting, a screen), as an operator would.",
    )
    people: list[Person] = Field(description="Everyone whose face is in view at some time.")

    @model_validator(mode="after")
    def _unique_ids(self) -> ClipTruth:
        ids = [p.id for p in self.people]
        if len(ids) != len(set(ids)):
            raise ValueError("person ids must be unique")
        boxed = {p.segments is not None for p in self.people}
        if len(boxed) > 1:
            raise ValueError("either every person has segments or none has")
        return self

    @property
    def boxed(self) -> bool:
        return bool(self.people) and self.people[0].segments is not None


@dataclass(frozen=True)
class Visit:
    """One person's continuous presence: gaps up to `reentry_s` are the same visit."""

    id: str  # person id, with "#2", "#3"... for later visits
    person: Person
    start: float
    end: float
    violation_s: float  # how long a violation label was worn while in view
    violation_label: str | None  # the violation label worn longest, if any

    @property
    def violator(self) -> bool | None:
        """True: should be one violation; False: masked throughout; None: too brief to say."""
        if self.person.violation is not None:
            return self.person.violation
        if self.violation_s >= MIN_VIOLATION_S:
            return True
        return False if self.violation_s == 0 else None


def visits(person: Person, reentry_s: float) -> list[Visit]:
    """The person's visits: segments closer than `reentry_s` join into one."""
    groups: list[list[list[tuple[float, float, float, float, float]]]] = []
    for seg in person.segments or []:
        if groups and seg[0][0] - groups[-1][-1][-1][0] <= reentry_s:
            groups[-1].append(seg)
        else:
            groups.append([seg])
    out = []
    for n, group in enumerate(groups, start=1):
        worn = _violation_time(person, [(s[0][0], s[-1][0]) for s in group])
        label = max(worn, key=lambda k: worn[k]) if worn else None
        vid = person.id if n == 1 else f"{person.id}#{n}"
        out.append(Visit(vid, person, group[0][0][0], group[-1][-1][0], sum(worn.values()), label))
    return out


def _violation_time(person: Person, spans: list[tuple[float, float]]) -> dict[str, float]:
    changes = person.labels or [(0.0, person.label or "")]
    worn: dict[str, float] = {}
    for start, end in spans:
        for i, (at, label) in enumerate(changes):
            until = changes[i + 1][0] if i + 1 < len(changes) else float("inf")
            lo, hi = max(start, at if i else float("-inf")), min(end, until)
            if label in VIOLATIONS and hi > lo:
                worn[label] = worn.get(label, 0.0) + hi - lo
    return worn


def count_only_violator(person: Person) -> bool:
    """For truth without boxes: a violator if the person is ever labelled as one (or says so)."""
    if person.violation is not None:
        return person.violation
    return any(label in VIOLATIONS for _, label in (person.labels or [(0.0, person.label or "")]))


def load_truth(path: Path) -> tuple[ClipTruth, Path]:
    """The truth file and the clip it describes (resolved against the file's folder)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise TruthError(f"cannot read ground truth {path}: {exc.strerror}") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        truth = ClipTruth.model_validate(raw)
    except (ValueError, yaml.YAMLError) as exc:
        detail = str(exc).splitlines() if isinstance(exc, ValidationError) else [str(exc)]
        raise TruthError(f"{path}: not a valid ground-truth file: {'; '.join(detail[:6])}") from None
    clip = Path(truth.clip)
    return truth, clip if clip.is_absolute() else path.parent / clip
