"""Each camera's live picture: the newest frame that reached the record stage, written to the
snapshot folder about once a second, for the console's camera grid and camera pages.

The picture is the JPEG ingest already made, not decoded again. What the console needs beside it
(when it was taken, the frame rate, where the faces are, to blur them for viewers) travels inside
the same file, in a JPEG comment segment, so one rename replaces picture and facts together: a
console on another machine sharing the snapshot volume never reads a picture with another's faces.

A picture that cannot be written (disk full, folder gone) is logged once and left: recording goes on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from maskwatch.messages import FrameResult
from maskwatch.stages import Outage

log = logging.getLogger(__name__)

# Not a valid camera id (ids are letters, digits, _ . -), so never a camera's snapshot folder.
LIVE_FOLDER = "@live"
WRITE_EVERY_S = 1.0
FPS_WINDOW_S = 5.0  # frames per second over this much of the camera's own time
MAX_FACES = 1000  # a JPEG comment holds 64 KiB: far more boxes than any picture has faces
_COMMENT = b"\xff\xfe"
_JFIF = b"\xff\xe0"  # the APP0 header, which readers expect first
_TAG = b"maskwatch-live "


@dataclass(frozen=True)
class LivePicture:
    camera_id: str
    captured_at: float  # UTC epoch seconds, as ingest dated the frame
    width: int
    height: int
    fps: float  # frames that reached the record stage per second, lately
    faces: tuple[tuple[float, float, float, float], ...]
    jpeg: bytes

    def encoded(self) -> bytes:
        """The JPEG with these facts in a comment segment, after its JFIF header if it has one."""
        facts = {
            "camera_id": self.camera_id,
            "captured_at": self.captured_at,
            "width": self.width,
            "height": self.height,
            "fps": round(self.fps, 2),
            "faces": [[round(v, 1) for v in box] for box in self.faces[:MAX_FACES]],
        }
        body = _TAG + json.dumps(facts, separators=(",", ":")).encode()
        at = 2 + (2 + int.from_bytes(self.jpeg[4:6], "big") if self.jpeg[2:4] == _JFIF else 0)
        return self.jpeg[:at] + _COMMENT + (len(body) + 2).to_bytes(2, "big") + body + self.jpeg[at:]

    @classmethod
    def decode(cls, data: bytes) -> LivePicture | None:
        """A picture `encoded` wrote, or None for any other bytes."""
        body = _comment(data)
        if body is None:
            return None
        try:
            facts = json.loads(body)
            faces = tuple((float(a), float(b), float(c), float(d)) for a, b, c, d in facts["faces"])
            return cls(
                str(facts["camera_id"]),
                float(facts["captured_at"]),
                int(facts["width"]),
                int(facts["height"]),
                float(facts["fps"]),
                faces,
                data,
            )
        except (KeyError, TypeError, ValueError):
            return None


def _comment(data: bytes) -> bytes | None:
    """Our comment segment among the JPEG's first two segments, without its tag."""
    if data[:2] != b"\xff\xd8":
        return None
    at = 2
    for _ in range(2):
        marker, length = data[at : at + 2], int.from_bytes(data[at + 2 : at + 4], "big")
        if marker == _COMMENT:
            body = data[at + 4 : at + 2 + length]
            return body[len(_TAG) :] if body.startswith(_TAG) else None
        if marker != _JFIF or length < 2:
            return None
        at += 2 + length
    return None


def live_path(root: Path, camera_id: str) -> Path:
    return root / LIVE_FOLDER / f"{camera_id}.jpg"


def read_live(root: Path, camera_id: str) -> LivePicture | None:
    """The camera's live picture, or None when there is none (or it is not one maskwatch wrote)."""
    try:
        data = live_path(root, camera_id).read_bytes()
    except OSError:
        return None
    found = LivePicture.decode(data)
    return found if found is not None and found.camera_id == camera_id else None


class _Camera:
    def __init__(self) -> None:
        self.newest: FrameResult | None = None
        self.written_at = -1.0  # captured_at of the frame last written
        self.times: deque[float] = deque(maxlen=1000)  # when recent frames were taken, in the order they came

    def add(self, captured_at: float) -> None:
        self.times.append(captured_at)
        newest = max(captured_at, self.newest.frame.captured_at if self.newest else captured_at)
        while self.times and self.times[0] < newest - FPS_WINDOW_S:
            self.times.popleft()

    def fps(self) -> float:
        # Results can arrive out of order (redelivered, reclaimed): the span is from the earliest to the latest.
        last = max(self.times, default=0.0)
        recent = [t for t in self.times if t >= last - FPS_WINDOW_S]
        first = min(recent, default=last)
        return (len(recent) - 1) / (last - first) if last > first else 0.0


class LivePictures:
    """Keeps each camera's newest frame as results arrive (`offer`, on the record stage's thread)
    and writes them from a thread of its own, so a slow or failing disk never holds up recording."""

    def __init__(self, root: Path, every_s: float = WRITE_EVERY_S) -> None:
        self.folder = root / LIVE_FOLDER
        self.every_s = every_s
        self.written = 0
        self._lock = threading.Lock()
        self._cameras: dict[str, _Camera] = {}
        self._outage = Outage("recorder: live pictures (snapshot disk)")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def offer(self, result: FrameResult) -> None:
        frame = result.frame
        with self._lock:
            cam = self._cameras.setdefault(frame.camera_id, _Camera())
            cam.add(frame.captured_at)
            if cam.newest is None or frame.captured_at >= cam.newest.frame.captured_at:
                cam.newest = result

    def write_due(self) -> int:
        """Write each camera's newest frame not written yet; returns how many were written."""
        with self._lock:
            due = [
                (result, cam.fps())
                for cam in self._cameras.values()
                if (result := cam.newest) is not None and result.frame.captured_at > cam.written_at
            ]
        done = 0
        for result, fps in due:
            frame = result.frame
            picture = LivePicture(
                frame.camera_id,
                frame.captured_at,
                frame.width,
                frame.height,
                fps,
                tuple(face.box for face in result.faces),
                frame.jpeg,
            )
            try:
                self._write(frame.camera_id, picture.encoded())
            except OSError as exc:
                self._outage.failed(exc, self.every_s)
                continue
            self._outage.ok()
            with self._lock:
                self._cameras[frame.camera_id].written_at = frame.captured_at
            done += 1
        self.written += done
        return done

    def _write(self, camera_id: str, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{camera_id}.jpg"
        # Per process and thread: recorders sharing the volume never write into each other's file.
        temp = self.folder / f"{camera_id}.{os.getpid()}-{threading.get_ident()}.tmp"
        try:
            temp.write_bytes(data)
            os.replace(temp, final)
        except OSError:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.every_s):
            try:
                self.write_due()
            except Exception:  # a bug here must not end the pictures, and never the recording
                log.exception("live pictures: writing failed; trying again in %.0f s", self.every_s)
                time.sleep(self.every_s)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, args=(self._stop,), name="live-pictures", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
