"""Each camera's live picture: the newest frame that reached the record stage, written to the
snapshot folder about once a second, for the console's camera grid and camera pages.

The picture is the JPEG ingest already made, not decoded again. What the console needs beside it
(when it was taken, the frame rate, where the faces are, to blur them for viewers) travels inside
the same file, in a JPEG comment segment, so one rename replaces picture and facts together: a
console on another machine sharing the snapshot volume never reads a picture with another's faces.

A picture that cannot be written (disk full, folder gone) is logged once and left: recording goes on.

Anyone who can write into the snapshot folder can plant a file there: the console reads only a
regular file of a bounded size (never through a link, never a device), and takes its facts only
when they are all sane and agree with the JPEG itself; otherwise there is no live picture, so a
viewer is never shown a face the facts failed to cover. The recorder never writes through a link.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import stat
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
# Faces overlap little: their boxes together never cover the picture many times over. Bounds the
# work of blurring them for a viewer (a full-picture blur takes tens of milliseconds).
MAX_FACE_COVER = 4.0
MAX_LIVE_BYTES = 32 * 1024 * 1024  # an 8K frame at the highest JPEG quality is well under this
MAX_EPOCH = 253402300799.0  # 9999-12-31T23:59:59Z, the last second a datetime holds
MAX_FPS = 1000.0
MAX_SIDE = 65535  # the largest a JPEG can be
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
        """A picture `encoded` wrote, or None for any other bytes: facts that are malformed, out of
        range, or that describe a picture of another size than the JPEG's."""
        body = _comment(data)
        if body is None:
            return None
        try:
            facts = json.loads(body)
            faces = tuple((float(a), float(b), float(c), float(d)) for a, b, c, d in facts["faces"][: MAX_FACES + 1])
            picture = cls(
                str(facts["camera_id"]),
                float(facts["captured_at"]),
                int(facts["width"]),
                int(facts["height"]),
                float(facts["fps"]),
                faces,
                data,
            )
        except (KeyError, TypeError, ValueError, OverflowError, RecursionError):
            return None
        return picture if picture._sane() and _jpeg_size(data) == (picture.width, picture.height) else None

    def _sane(self) -> bool:
        sized = 0 < self.width <= MAX_SIDE and 0 < self.height <= MAX_SIDE
        if not (sized and 0 <= self.captured_at <= MAX_EPOCH and 0 <= self.fps <= MAX_FPS):  # NaN fails too
            return False
        if len(self.faces) > MAX_FACES or not all(map(math.isfinite, (v for box in self.faces for v in box))):
            return False
        if any(x2 <= x1 or y2 <= y1 for x1, y1, x2, y2 in self.faces):
            return False
        cover = sum((x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in self.faces)
        return cover <= MAX_FACE_COVER * self.width * self.height


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


# Start-of-frame markers, which carry the picture's size: SOF0-SOF15 but DHT (C4), JPG (C8), DAC (CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}  # RSTn and TEM: no length follows


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the JPEG's frame header, or None when the segments before it do not parse."""
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:  # fill bytes before a marker
            at += 1
            continue
        if marker in _STANDALONE:
            at += 2
            continue
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if marker in _SOF and length >= 7 and at + 9 <= len(data):
            return int.from_bytes(data[at + 7 : at + 9], "big"), int.from_bytes(data[at + 5 : at + 7], "big")
        if length < 2 or marker == 0xDA:  # a bad length, or the scan began before any frame header
            return None
        at += 2 + length
    return None


def live_path(root: Path, camera_id: str) -> Path:
    return root / LIVE_FOLDER / f"{camera_id}.jpg"


def _read_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of the file at `path` if it is a regular file of at most `limit` bytes; never
    through a symbolic link, and without waiting on a FIFO or reading a device or a folder."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) <= limit else None


def read_live(root: Path, camera_id: str) -> LivePicture | None:
    """The camera's live picture, or None when there is none (or it is not one maskwatch wrote)."""
    data = _read_regular(live_path(root, camera_id), MAX_LIVE_BYTES)
    found = LivePicture.decode(data) if data is not None else None
    return found if found is not None and found.camera_id == camera_id else None


def _write_new(path: Path, data: bytes) -> None:
    """`data` into a file created here: whatever is at `path` (a temporary file left by a crash, or a
    link planted to make the recorder overwrite another file) is removed first, not written through."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    with os.fdopen(os.open(path, flags, 0o666), "wb") as f:
        f.write(data)


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
            # Most results come without their JPEG (inference passes one on now and then): they count
            # for the frame rate only.
            if frame.jpeg and (cam.newest is None or frame.captured_at >= cam.newest.frame.captured_at):
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
            _write_new(temp, data)
            os.replace(temp, final)  # replaces a link planted at `final`, never writes through it
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
