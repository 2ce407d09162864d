"""Reading one camera: open the source with PyAV, decode, sample at `sample_fps`, JPEG-encode.

The reader never waits on anything downstream: each sampled frame is handed to a `publish`
callback that must not block (the queue bound drops the oldest frames and counts them).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import cv2

from maskwatch.config import CameraConfig, IngestConfig
from maskwatch.messages import FrameMessage
from maskwatch.redact import redact_url

log = logging.getLogger(__name__)

Publish = Callable[[FrameMessage], None]


class StreamEnded(Exception):
    """The source ended: for a live camera a disconnect, for a file the end of the recording."""


class SourceError(Exception):
    """The source cannot be opened or read; the message says why in operator terms."""


@dataclass(frozen=True)
class Source:
    target: str
    format: str | None
    options: dict[str, str]
    is_file: bool


def resolve_source(url: str) -> Source:
    fast_probe = {"analyzeduration": "0", "probesize": "32768"}
    if url.isdigit():
        return Source(f"/dev/video{url}", "v4l2", {}, is_file=False)
    if url.startswith(("rtsp://", "rtsps://")):
        return Source(url, None, {"rtsp_transport": "tcp", **fast_probe}, is_file=False)
    if url.startswith(("http://", "https://")):
        return Source(url, None, fast_probe, is_file=False)
    return Source(str(Path(url).expanduser()), None, {}, is_file=True)


def describe_error(exc: BaseException, where: str, raw_url: str) -> str:
    """An operator-readable reason for a failed open/read (never containing credentials)."""
    if isinstance(exc, av.error.HTTPNotFoundError):
        return f"{where}: stream path not found (404)"
    if isinstance(exc, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        return f"{where}: credentials refused (401/403): check the camera user and password"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where}: connection refused: is the camera on, and the port right?"
    if isinstance(exc, av.error.ExitError | TimeoutError):
        return f"{where}: no data within the timeout: camera frozen or unreachable"
    if isinstance(exc, FileNotFoundError):
        return f"{where}: no such file"
    if isinstance(exc, av.error.InvalidDataError):
        return f"{where}: not a video stream PyAV can decode"
    # FFmpeg's own messages quote the URL it was given, password included.
    return f"{where}: {type(exc).__name__}: {str(exc).replace(raw_url, redact_url(raw_url))}"


class CameraReader:
    """Reads until the source ends, fails, or `stop` is set. One instance per connection attempt."""

    def __init__(self, camera: CameraConfig, cfg: IngestConfig, publish: Publish) -> None:
        self.camera = camera
        self.cfg = cfg
        self.publish = publish
        self.source = resolve_source(camera.url)
        self.where = f"camera {camera.id} ({redact_url(camera.url)})"
        self.last_progress = time.monotonic()  # the watchdog reads this
        self.frames_decoded = 0

    def run(self, stop: threading.Event, first_seq: int) -> int:
        """Returns the next sequence number; raises StreamEnded or SourceError."""
        seq = first_seq
        period = 1.0 / self.camera.sample_fps
        try:
            container = av.open(
                self.source.target,
                format=self.source.format,
                options=self.source.options,
                timeout=(self.cfg.open_timeout_s, self.cfg.open_timeout_s),
            )
        except (av.error.FFmpegError, OSError) as exc:
            raise SourceError(describe_error(exc, self.where, self.source.target)) from None
        try:
            stream = container.streams.video[0]
        except IndexError:
            container.close()
            raise SourceError(f"{self.where}: source has no video stream") from None
        stream.thread_type = "AUTO"
        wall_start = time.time()
        mono_start = time.monotonic()
        t0: float | None = None
        next_t = 0.0
        try:
            for frame in container.decode(stream):
                if stop.is_set():
                    return seq
                self.last_progress = time.monotonic()
                self.frames_decoded += 1
                # The first packets' pts can be missing; wall time since start stands in for them.
                t = frame.time if frame.time is not None else time.monotonic() - mono_start
                if t0 is None:
                    t0 = t
                rel = t - t0
                if self.source.is_file and self.camera.realtime:  # a recording plays at its own pace, like a camera
                    ahead = rel - (time.monotonic() - mono_start)
                    if ahead > 0 and stop.wait(ahead):
                        return seq
                if rel + 1e-6 < next_t:
                    continue
                next_t = max(next_t + period, rel)  # no burst of catch-up frames after a gap
                image = frame.to_ndarray(format="bgr24")
                ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.cfg.jpeg_quality])
                if not ok:
                    log.warning("%s: frame %d could not be JPEG-encoded; skipped", self.where, seq)
                    continue
                h, w = image.shape[:2]
                self.publish(FrameMessage(self.camera.id, seq, wall_start + rel, w, h, jpeg.tobytes()))
                seq += 1
        except (av.error.FFmpegError, OSError) as exc:
            raise SourceError(describe_error(exc, self.where, self.source.target)) from None
        finally:
            container.close()
        raise StreamEnded(
            f"{self.where}: " + ("end of recording" if self.source.is_file else "stream ended (server closed it)")
        )
