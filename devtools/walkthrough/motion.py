"""Scene descriptions: who is where when, as key frames of the face centre and height."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace

WIDTH, HEIGHT = 1280, 720
# A walker's head rises and falls with each step: this much of the face height, two steps a second.
BOB = 0.035
STEP_HZ = 2.0
# Face centre to the edge of the cut-out, in face heights: a walker starting this far out is unseen.
OFFSCREEN = 1.8


@dataclass(frozen=True)
class Key:
    t: float
    x: float  # face centre, frame pixels
    y: float
    h: float  # face height, frame pixels
    walking: bool = False  # bobs on the way to the next key


Path = tuple[Key, ...]


def position(path: Path, t: float) -> tuple[float, float, float] | None:
    """Face centre and height at `t`; None outside [first key, last key)."""
    if not path[0].t <= t < path[-1].t:
        return None
    i = bisect.bisect_right([k.t for k in path], t) - 1
    a, b = path[i], path[i + 1]
    u = (t - a.t) / (b.t - a.t)
    h = a.h + u * (b.h - a.h)
    y = a.y + u * (b.y - a.y)
    if a.walking:
        y -= BOB * h * abs(math.sin(math.pi * STEP_HZ * (t - a.t)))
    return a.x + u * (b.x - a.x), y, h


def until(path: Path, t: float) -> Path:
    """The path cut short at `t` (a hard cut ends the scene mid-stride)."""
    if t >= path[-1].t:
        return path
    kept = [k for k in path if k.t < t]
    if not kept:
        return ()
    last = position(path, t - 1e-9) if len(path) > 1 else None
    x, y, h = last if last is not None else (kept[-1].x, kept[-1].y, kept[-1].h)
    return (*kept, Key(t, x, y, h))


@dataclass(frozen=True)
class Actor:
    id: str
    cast: str  # the pool's cut-out key
    paths: tuple[Path, ...]  # each a time in the scene; the same person leaving and coming back has several
    labels: tuple[tuple[float, str], ...] = ()  # (from t, label) when a mask goes on or comes off in view

    def at(self, t: float) -> tuple[float, float, float] | None:
        for path in self.paths:
            where = position(path, t)
            if where is not None:
                return where
        return None

    def label_at(self, t: float, own: str) -> str:
        label = own
        for since, worn in self.labels:
            if t >= since:
                label = worn
        return label

    @property
    def end(self) -> float:
        return max(p[-1].t for p in self.paths)


@dataclass(frozen=True)
class Scene:
    name: str
    description: str
    duration: float
    backgrounds: tuple[tuple[float, str], ...]  # (from t, background key): several for hard cuts
    actors: tuple[Actor, ...]

    def background_at(self, t: float) -> str:
        key = self.backgrounds[0][1]
        for since, bg in self.backgrounds:
            if t >= since:
                key = bg
        return key


def scene(name: str, description: str, actors: list[Actor], backgrounds: list[tuple[float, str]]) -> Scene:
    """A scene with ids p01, p02... in order of first appearance, ending shortly after the last exit."""
    actors = [a for a in actors if a.paths]
    actors.sort(key=lambda a: a.paths[0][0].t)
    named = tuple(replace(a, id=f"p{i:02d}") for i, a in enumerate(actors, start=1))
    duration = round(max(a.end for a in named) + 0.5, 1)
    return Scene(name, description, duration, tuple(backgrounds), named)


class Walk:
    """One time in view, built as a chain of moves: walk to a place, stand, walk on."""

    def __init__(self, t: float, x: float, y: float, h: float) -> None:
        self.keys = [Key(t, x, y, h)]

    @property
    def end(self) -> float:
        return self.keys[-1].t

    def go(self, x: float, y: float | None = None, h: float | None = None, *, dur: float) -> Walk:
        last = self.keys[-1]
        self.keys[-1] = replace(last, walking=True)
        self.keys.append(Key(last.t + dur, x, last.y if y is None else y, last.h if h is None else h))
        return self

    def stay(self, dur: float, dx: float = 0.0) -> Walk:
        """Stand (swaying by `dx` px: nobody stands perfectly still)."""
        if dur <= 1e-3:  # key frames must be strictly increasing in time
            return self
        last = self.keys[-1]
        self.keys.append(Key(last.t + dur, last.x + dx, last.y, last.h))
        return self

    def path(self) -> Path:
        return tuple(self.keys)


def offscreen(side: int, h: float) -> float:
    """The x of a face just out of the frame on `side` (-1 left, 1 right)."""
    return -OFFSCREEN * h if side < 0 else WIDTH + OFFSCREEN * h


def ground(h: float) -> float:
    """The face centre's height in the frame for a face `h` px tall: nearer people are bigger and lower."""
    return 0.3 * HEIGHT + 0.9 * h
