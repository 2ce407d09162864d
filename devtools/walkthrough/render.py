"""Rendering: cut-outs composited on the backgrounds frame by frame, the clip written as H.264, and
the truth taken from the very numbers that placed each face."""

from __future__ import annotations

import json
import math
import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from devtools.demo_media import write_clip
from devtools.walkthrough.cutouts import Box
from devtools.walkthrough.motion import HEIGHT, WIDTH, Scene
from devtools.walkthrough.people import Pool
from maskwatch.app.evaluation.truth import ClipTruth

FPS = 10
# A face is in the truth while at least half of its box is inside the frame: detectors find faces
# cut by the frame edge, and a person walking in is there from that moment.
MIN_INSIDE = 0.5


@dataclass(frozen=True)
class Sprite:
    colour: np.ndarray  # float32 BGR, premultiplied by alpha
    alpha: np.ndarray  # float32, (rows, cols, 1)
    face: Box  # face box in sprite pixels


class Sprites:
    """Cut-outs scaled to a face height, kept while in use (a walker keeps one size for a while)."""

    def __init__(self, pool: Pool, keep: int = 64) -> None:
        self.pool, self.keep = pool, keep
        self.cache: OrderedDict[tuple[str, str, int], Sprite] = OrderedDict()

    def get(self, key: str, label: str, face_h: int) -> Sprite:
        k = (key, label, face_h)
        if k in self.cache:
            self.cache.move_to_end(k)
            return self.cache[k]
        cut = self.pool.cutout(key, label)
        scale = face_h / (cut.face[3] - cut.face[1])
        rows, cols = cut.alpha.shape
        size = (max(1, round(cols * scale)), max(1, round(rows * scale)))
        how = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        colour = cv2.resize(cut.image, size, interpolation=how).astype(np.float32)
        alpha = np.clip(cv2.resize(cut.alpha, size, interpolation=how), 0, 1)[..., None]
        sx, sy = size[0] / cols, size[1] / rows  # the scale each axis really got, for an exact face box
        face = (cut.face[0] * sx, cut.face[1] * sy, cut.face[2] * sx, cut.face[3] * sy)
        self.cache[k] = sprite = Sprite(colour * alpha, alpha, face)
        if len(self.cache) > self.keep:
            self.cache.popitem(last=False)
        return sprite


def paste(frame: np.ndarray, sprite: Sprite, x: float, y: float) -> Box:
    """Blend the sprite in with its face centred on (x, y), at whole pixels; the face box as pasted."""
    f = sprite.face
    ox, oy = round(x - (f[0] + f[2]) / 2), round(y - (f[1] + f[3]) / 2)
    rows, cols = sprite.alpha.shape[:2]
    x1, y1, x2, y2 = max(ox, 0), max(oy, 0), min(ox + cols, WIDTH), min(oy + rows, HEIGHT)
    if x2 > x1 and y2 > y1:
        a = sprite.alpha[y1 - oy : y2 - oy, x1 - ox : x2 - ox]
        roi = frame[y1:y2, x1:x2]
        mixed = roi * (1 - a) + sprite.colour[y1 - oy : y2 - oy, x1 - ox : x2 - ox]
        frame[y1:y2, x1:x2] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return ox + f[0], oy + f[1], ox + f[2], oy + f[3]


def inside(box: Box) -> tuple[float, Box]:
    """The share of the box inside the frame, and the box clipped to the frame."""
    x1, y1, x2, y2 = box
    cx1, cy1, cx2, cy2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(WIDTH)), min(y2, float(HEIGHT))
    area = (x2 - x1) * (y2 - y1)
    seen = max(0.0, cx2 - cx1) * max(0.0, cy2 - cy1)
    return (seen / area if area > 0 else 0.0), (cx1, cy1, cx2, cy2)


class Track:
    """Each person's key frames, split into segments wherever they were out of view."""

    def __init__(self) -> None:
        self.segments: dict[str, list[list[list[float]]]] = {}
        self.last: dict[str, int] = {}

    def add(self, pid: str, i: int, box: Box) -> None:
        segments = self.segments.setdefault(pid, [])
        if self.last.get(pid) != i - 1:
            segments.append([])
        segments[-1].append([round(i / FPS, 2), *(round(v, 1) for v in box)])
        self.last[pid] = i


def _frames(scene: Scene, pool: Pool, track: Track, bar: tqdm[Any] | None) -> Iterator[np.ndarray]:
    sprites = Sprites(pool)
    for i in range(round(scene.duration * FPS)):
        t = i / FPS
        frame = pool.background_image(scene.background_at(t)).copy()
        here = [(where, actor) for actor in scene.actors if (where := actor.at(t)) is not None]
        for (x, y, h), actor in sorted(here, key=lambda d: (d[0][2], d[1].id)):  # far (small) first
            label = actor.label_at(t, pool.label(actor.cast))
            share, box = inside(paste(frame, sprites.get(actor.cast, label, max(4, round(h))), x, y))
            if share >= MIN_INSIDE:
                track.add(actor.id, i, box)
        if bar is not None:
            bar.update(1)
        yield frame


def _frame_time(t: float) -> float:
    """The time of the first frame at or after `t`: when a change is first seen."""
    return round(math.ceil(t * FPS - 1e-6) / FPS, 2)


def truth_of(scene: Scene, pool: Pool, clip: str, track: Track) -> dict[str, Any]:
    people: list[dict[str, Any]] = []
    for actor in scene.actors:
        if actor.id not in track.segments:
            continue  # never fully enough in view to be seen
        person: dict[str, Any] = {"id": actor.id}
        if actor.labels:
            person["labels"] = [[_frame_time(t), label] for t, label in actor.labels]
        else:
            person["label"] = pool.label(actor.cast)
        person["segments"] = track.segments[actor.id]
        people.append(person)
    return {"version": 1, "clip": clip, "description": scene.description, "people": people}


def dump(data: dict[str, Any]) -> str:
    """JSON with each key frame on one line: readable, and a tenth of the size of one number a line."""
    text = json.dumps(data, indent=1)
    flat = re.compile(r"\[\s+(-?[\d.]+(?:,\s+-?[\d.]+)*)\s+\]")
    return flat.sub(lambda m: "[" + re.sub(r"\s+", " ", m[1]) + "]", text) + "\n"


def render_scene(scene: Scene, pool: Pool, out_dir: Path, clip: str, bar: tqdm[Any] | None = None) -> Path:
    """Write `<clip>.mp4` and `<clip>.truth.json` into `out_dir`; returns the truth file."""
    track = Track()
    write_clip(out_dir / f"{clip}.mp4", _frames(scene, pool, track, bar), FPS)
    data = truth_of(scene, pool, f"{clip}.mp4", track)
    ClipTruth.model_validate(data)  # what load_truth will accept, checked before it is written
    path = out_dir / f"{clip}.truth.json"
    path.write_text(dump(data))
    return path
