"""Demo media the project makes itself: no third-party images or videos are committed.

The face is the public-domain NASA portrait of astronaut Eileen Collins that scikit-image
ships (`skimage.data.astronaut`). Masks are drawn onto it from face geometry: worn properly
(nose and mouth covered), under the nose (mask_incorrect), or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from maskwatch.errors import MaskwatchError
from maskwatch.labels import MASK_INCORRECT, WITH_MASK, WITHOUT_MASK

# Face box of the portrait as found by the detector (x, y, w, h in the 512x512 image).
_FACE = (178, 63, 89, 112)
#: A wear style of the demo people beyond the three labels: the mask pulled down to the chin.
MASK_ON_CHIN = "mask_on_chin"
# Mask top edge as a fraction of face height: over the nose bridge, just under the nose tip, or on the
# chin (under the lower lip: the chin covered, the mouth not; at 0.92 it hung below the chin, on the neck).
_MASK_TOP = {WITH_MASK: 0.40, MASK_INCORRECT: 0.66, MASK_ON_CHIN: 0.85}
_MASK_BGR = (228, 200, 150)


class DemoMediaError(MaskwatchError):
    """The demo source image is not available (scikit-image missing)."""


def portrait_bgr() -> np.ndarray:
    try:
        from skimage import data
    except ImportError:
        raise DemoMediaError(
            "the demo needs scikit-image for its sample portrait: pip install 'maskwatch[demo]'"
        ) from None
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def draw_mask(image: np.ndarray, face: tuple[int, int, int, int], label: str) -> np.ndarray:
    """Draw a surgical mask on the face box `face` (x, y, w, h); `without_mask` draws nothing."""
    if label == WITHOUT_MASK:
        return image
    out = image.copy()
    x, y, w, h = face
    top = y + _MASK_TOP[label] * h
    bottom = y + 1.12 * h
    cx = x + w / 2
    pts = np.array(
        [
            (x - 0.02 * w, top + 0.10 * h),
            (cx - 0.2 * w, top),
            (cx, top - 0.04 * h),
            (cx + 0.2 * w, top),
            (x + 1.02 * w, top + 0.10 * h),
            (x + 0.98 * w, y + 0.90 * h),
            (cx + 0.25 * w, bottom - 0.02 * h),
            (cx, bottom),
            (cx - 0.25 * w, bottom - 0.02 * h),
            (x + 0.02 * w, y + 0.90 * h),
        ],
        dtype=np.int32,
    )
    cv2.fillPoly(out, [pts], _MASK_BGR, lineType=cv2.LINE_AA)
    shade = tuple(int(c * 0.85) for c in _MASK_BGR)
    for k in (0.3, 0.5, 0.7):  # pleats
        py = int(top + k * (bottom - top))
        cv2.line(out, (int(x + 0.08 * w), py), (int(x + 0.92 * w), py), shade, max(1, w // 60), cv2.LINE_AA)
    loop = max(1, w // 45)
    cv2.line(
        out, (int(x - 0.02 * w), int(top + 0.1 * h)), (int(x - 0.06 * w), int(y + 0.35 * h)), (245, 245, 245), loop
    )
    cv2.line(
        out, (int(x + 1.02 * w), int(top + 0.1 * h)), (int(x + 1.06 * w), int(y + 0.35 * h)), (245, 245, 245), loop
    )
    return cv2.GaussianBlur(out, (3, 3), 0)


@dataclass(frozen=True)
class Person:
    label: str
    face_height: int  # px in the scene
    centre: tuple[int, int]  # face centre in the scene


def person_sprite(portrait: np.ndarray, label: str, face_height: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Head-and-shoulders cut of the portrait wearing `label`, scaled; returns it and the face centre."""
    masked = draw_mask(portrait, _FACE, label)
    x, y, w, h = _FACE
    x1, y1, x2, y2 = max(0, x - w), max(0, y - h // 2), min(512, x + 2 * w), min(512, y + 2 * h)
    cut = masked[y1:y2, x1:x2]
    scale = face_height / h
    sprite = cv2.resize(cut, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return sprite, (round((x + w / 2 - x1) * scale), round((y + h / 2 - y1) * scale))


def render_scene(people: list[Person], size: tuple[int, int] = (1280, 720), seed: int = 0) -> np.ndarray:
    """A plain corridor-like backdrop with the given people pasted on, back to front."""
    w, h = size
    rng = np.random.default_rng(seed)
    ramp = np.linspace(70, 150, h, dtype=np.float32)[:, None, None]
    scene = np.broadcast_to(ramp * np.array([1.0, 0.97, 0.92], dtype=np.float32), (h, w, 3)).copy()
    scene += rng.normal(0, 4, scene.shape).astype(np.float32)
    canvas = np.clip(scene, 0, 255).astype(np.uint8)
    portrait = portrait_bgr()
    for person in sorted(people, key=lambda p: p.face_height):
        sprite, (fx, fy) = person_sprite(portrait, person.label, person.face_height)
        ox, oy = person.centre[0] - fx, person.centre[1] - fy
        sx1, sy1 = max(0, -ox), max(0, -oy)
        dx1, dy1 = max(0, ox), max(0, oy)
        dx2, dy2 = min(w, ox + sprite.shape[1]), min(h, oy + sprite.shape[0])
        if dx2 > dx1 and dy2 > dy1:
            canvas[dy1:dy2, dx1:dx2] = sprite[sy1 : sy1 + dy2 - dy1, sx1 : sx1 + dx2 - dx1]
    return canvas


DEMO_SCENES: dict[str, list[Person]] = {
    "entrance": [
        Person(WITHOUT_MASK, 150, (250, 260)),
        Person(WITH_MASK, 150, (640, 260)),
        Person(MASK_INCORRECT, 150, (1030, 260)),
    ],
    "hall": [
        Person(WITH_MASK, 90, (180, 200)),
        Person(WITH_MASK, 90, (480, 220)),
        Person(WITHOUT_MASK, 90, (780, 200)),
        Person(WITH_MASK, 90, (1080, 210)),
    ],
    "queue": [
        Person(WITHOUT_MASK, 60, (200, 150)),
        Person(WITH_MASK, 60, (450, 160)),
        Person(WITH_MASK, 60, (700, 150)),
        Person(MASK_INCORRECT, 60, (950, 170)),
        Person(WITH_MASK, 60, (1150, 150)),
    ],
}


def write_demo_images(out_dir: Path) -> dict[Path, list[Person]]:
    """Render the demo scenes as JPEG files; returns each file with the people it shows."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for i, (name, people) in enumerate(DEMO_SCENES.items()):
        path = out_dir / f"{name}.jpg"
        cv2.imwrite(str(path), render_scene(people, seed=i), [cv2.IMWRITE_JPEG_QUALITY, 90])
        written[path] = people
    return written


@dataclass(frozen=True)
class Actor:
    """A person in the demo clip: where they walk and what they wear when."""

    name: str
    face_height: int
    start: tuple[int, int]
    velocity: tuple[float, float]  # px per second
    label: str
    label_after: tuple[float, str] | None = None  # (seconds, label): e.g. puts a mask on

    def at(self, t: float) -> Person:
        label = self.label_after[1] if self.label_after and t >= self.label_after[0] else self.label
        x = round(self.start[0] + self.velocity[0] * t)
        y = round(self.start[1] + self.velocity[1] * t)
        return Person(label, self.face_height, (x, y))


DEMO_CLIP_ACTORS: tuple[Actor, ...] = (
    Actor("no mask", 110, (170, 250), (18, 0), WITHOUT_MASK),
    Actor("masked", 110, (520, 240), (-10, 0), WITH_MASK),
    Actor("mask on the chin", 100, (820, 260), (12, 0), MASK_ON_CHIN),
    Actor("puts a mask on", 90, (1120, 200), (-15, 0), WITHOUT_MASK, (0.3, WITH_MASK)),
)
#: What the pipeline should report for the demo clip: one violation per person not compliant,
#: with its label (no mask; mask on the chin, which is worn incorrectly). The person who puts a
#: mask on must not be flagged.
DEMO_CLIP_VIOLATIONS: dict[str, int] = {WITHOUT_MASK: 1, MASK_INCORRECT: 1}


def write_clip(path: Path, images: Iterable[np.ndarray], fps: int, crf: int = 23) -> Path:
    """BGR pictures as an H.264 MP4 at `fps`, one frame each (libx264 ships in PyAV's wheels)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast", "crf": str(crf)}
        for i, image in enumerate(images):
            if i == 0:
                stream.height, stream.width = image.shape[:2]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image, dtype=np.uint8), format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_demo_clip(path: Path, seconds: float = 10.0, fps: int = 10, size: tuple[int, int] = (1280, 720)) -> Path:
    """Render the demo clip as H.264 MP4."""
    frames = (
        render_scene([a.at(i / fps) for a in DEMO_CLIP_ACTORS], size=size, seed=i) for i in range(round(seconds * fps))
    )
    return write_clip(path, frames, fps)
