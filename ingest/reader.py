"""Reading one camera: open the source with PyAV, decode, sample at `sample_fps`, JPEG-encode.

The reader never waits on anything downstream: each sampled frame is handed to a `publish`
callback that must not block (the queue bound drops the oldest frames and counts them).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import av
import cv2
import numpy as np

from maskwatch.areas import CameraAreas
from maskwatch.config import CameraConfig, IngestConfig, MotionConfig
from maskwatch.ingest.clock import CaptureClock
from maskwatch.ingest.decoding import BFrameCheck, GopSkipper, KeyframeSkipper
from maskwatch.ingest.scene import SceneCuts
from maskwatch.messages import FrameMessage
from maskwatch.redact import redact_url

log = logging.getLogger(__name__)

Publish = Callable[[FrameMessage], None]


class StreamEnded(Exception):
    """The source ended: for a live camera a disconnect, for a file the end of the recording."""


class SourceError(Exception):
    """The source cannot be opened or read; the message says why in operator terms.

    `timed_out`: nothing arrived within the read timeout (a frozen camera when it had been streaming)."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


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


DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}


def probe_host(url: str, where: str, timeout_s: float) -> None:
    """Connect to the camera's host first: FFmpeg reports a name that does not resolve, or a host
    that does not answer, as an opaque I/O or data error; an operator needs to know which."""
    parsed = urlsplit(url)
    host = parsed.hostname or ""
    try:
        port = parsed.port or DEFAULT_PORTS.get(parsed.scheme, 554)
    except ValueError:
        raise SourceError(f"{where}: invalid port in the camera address") from None
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except socket.gaierror:
        raise SourceError(f"{where}: host name {host!r} does not resolve: check the camera address") from None
    except ConnectionRefusedError:
        raise SourceError(f"{where}: connection refused: is the camera on, and the port right?") from None
    except TimeoutError:
        raise SourceError(
            f"{where}: host {host}:{port} does not answer within {timeout_s:g} s", timed_out=True
        ) from None
    except OSError as exc:
        raise SourceError(f"{where}: host {host}:{port} unreachable ({exc.strerror or exc})") from None


def source_error(exc: BaseException, where: str, source: Source) -> SourceError:
    return SourceError(
        describe_error(exc, where, source.target, source.is_file),
        timed_out=isinstance(exc, av.error.ExitError | TimeoutError),
    )


def describe_error(exc: BaseException, where: str, raw_url: str, is_file: bool = True) -> str:
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
        if not is_file:  # e.g. a frozen server that accepts the connection but never answers properly
            return f"{where}: no valid stream description from the server (not responding, or not a camera stream)"
        return f"{where}: not a video stream PyAV can decode"
    # FFmpeg's own messages quote the URL it was given, password included.
    return f"{where}: {type(exc).__name__}: {str(exc).replace(raw_url, redact_url(raw_url))}"


class MotionGate:
    """Passes a frame when enough of a small grey copy changed since the last frame passed, or
    when `keepalive_s` has gone by (so a person standing still stays tracked). With `areas`, only
    changes in the part of the picture they count are seen (a screen in an ignore area moves all day)."""

    WIDTH = 160

    def __init__(self, cfg: MotionConfig, areas: CameraAreas | None = None) -> None:
        self.cfg = cfg
        self.areas = areas
        self._mask: np.ndarray | None = None
        self._mask_pixels = 1
        self._last: np.ndarray | None = None
        self._last_t = -1e9

    def _changed(self, grey: np.ndarray, last: np.ndarray) -> float:
        moved = cv2.absdiff(grey, last) > self.cfg.pixel_threshold
        if self.areas is None:
            return int(np.count_nonzero(moved)) / grey.size
        if self._mask is None or self._mask.shape != grey.shape:
            self._mask = self.areas.mask(grey.shape[1], grey.shape[0])
            self._mask_pixels = max(int(np.count_nonzero(self._mask)), 1)
        return int(np.count_nonzero(moved & self._mask)) / self._mask_pixels

    def passes(self, frame: av.VideoFrame, t: float) -> bool:
        height = max(2, round(frame.height * self.WIDTH / max(frame.width, 1)))
        # swscale to 160 px grey costs a fraction of the full BGR conversion a passed frame needs.
        grey = frame.reformat(width=self.WIDTH, height=height, format="gray").to_ndarray()
        last = self._last
        if (
            last is not None
            and last.shape == grey.shape
            and t - self._last_t < self.cfg.keepalive_s
            and self._changed(grey, last) < self.cfg.min_changed
        ):
            return False
        self._last, self._last_t = grey, t
        return True


@dataclass
class ReaderCounters:
    decoded: int = 0
    packets_skipped: int = 0
    sampled: int = 0
    motion_skipped: int = 0
    encode_errors: int = 0
    drains: int = 0  # groups of pictures whose last sample was flushed out of the decoder


class CameraReader:
    """Reads until the source ends, fails, or `stop` is set. One instance per connection attempt."""

    def __init__(
        self,
        camera: CameraConfig,
        cfg: IngestConfig,
        publish: Publish,
        first_seq: int = 0,
        bframe_checks: threading.Semaphore | None = None,
    ) -> None:
        self.camera = camera
        self.cfg = cfg
        self.publish = publish
        self.source = resolve_source(camera.url)
        self.where = f"camera {camera.id} ({redact_url(camera.url)})"
        self.last_progress = time.monotonic()  # the watchdog reads this
        self.counters = ReaderCounters()
        self.keyframes_only = False
        self.skip_mode: str | None = None  # FFmpeg's skip_frame setting in use
        # Shared by the cameras of a stage: how many may run a B-frame check at once.
        self.bframe_checks = bframe_checks or threading.BoundedSemaphore(BFrameCheck.AT_ONCE)
        self.next_seq = first_seq
        self.scene_cuts = SceneCuts()

    @property
    def frames_decoded(self) -> int:
        return self.counters.decoded

    def _open(self) -> tuple[av.container.InputContainer, av.VideoStream]:
        if not self.source.is_file and self.source.format is None:
            probe_host(self.source.target, self.where, self.cfg.open_timeout_s)
        try:
            container = av.open(
                self.source.target,
                format=self.source.format,
                options=self.source.options,
                timeout=(self.cfg.open_timeout_s, self.cfg.open_timeout_s),
            )
        except (av.error.FFmpegError, OSError) as exc:
            raise source_error(exc, self.where, self.source) from None
        if not isinstance(container, av.container.InputContainer) or not container.streams.video:
            container.close()
            raise SourceError(f"{self.where}: source has no video stream") from None
        return container, container.streams.video[0]

    def _skip_non_key(self, stream: av.VideoStream) -> None:
        stream.codec_context.skip_frame = self.skip_mode = "NONKEY"
        self.keyframes_only = True
        log.info("%s: decoding key frames only", self.where)

    def _bframes_decided(self, stream: av.VideoStream, check: BFrameCheck) -> None:
        if check.verdict:
            stream.codec_context.skip_frame = self.skip_mode = "BIDIR"
        outcome = "skipping all B-frames" if check.verdict else "decoding as before"
        log.info("%s: B-frame check: %s: %s", self.where, check.reason, outcome)

    def _ends_group(
        self, packet: av.Packet, gops: GopSkipper, t0: float, next_t: float, period: float, frame_period: float
    ) -> bool:
        """Whether `packet` holds the last frame to sample from its group of pictures.

        Only where every B-frame is skipped: then I- and P-frames are all the decoder outputs, in
        the order they arrive, so the packet that reaches the next sample time is the sample."""
        if self.skip_mode != "BIDIR" or packet.pts is None or packet.time_base is None:
            return False
        rel = float(packet.pts * packet.time_base) - t0
        return rel + 1e-6 >= next_t and gops.ends_group(t0 + max(next_t + period, rel), frame_period)

    def _drain(self, stream: av.VideoStream) -> list[av.VideoFrame]:
        """The frames the decoder still holds back, now. H.264 decoders hold frames for reordering
        even when no B-frame is decoded (two on the benchmark stream), so the last sample of a
        group would otherwise cost two more P-frames decoded only to push it out, every group.
        The decoder then starts afresh at the next keyframe, which needs nothing before it."""
        ctx = stream.codec_context
        frames = ctx.decode(None)
        for frame in frames:  # PyAV stamps only frames decoded from a packet with its time base
            frame.time_base = stream.time_base
        ctx.flush_buffers()
        self.counters.drains += 1
        return frames

    def _send(self, frame: av.VideoFrame, captured_at: float) -> None:
        image = frame.to_ndarray(format="bgr24")
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.cfg.jpeg_quality])
        if not ok:
            self.counters.encode_errors += 1
            log.warning("%s: frame %d could not be JPEG-encoded; skipped", self.where, self.next_seq)
            return
        h, w = image.shape[:2]
        cut = self.scene_cuts.is_cut(image)
        self.publish(FrameMessage(self.camera.id, self.next_seq, captured_at, w, h, jpeg.tobytes(), cut))
        self.next_seq += 1

    def run(self, stop: threading.Event) -> None:
        """Returns when `stop` is set; raises StreamEnded or SourceError. `next_seq` follows the frames sent."""
        period = 1.0 / self.camera.sample_fps
        container, stream = self._open()
        # Frame threading costs 10-30 % more CPU per frame (measured); cameras already decode in
        # parallel with each other. Slice threads still help high-resolution multi-slice streams.
        stream.thread_type = "SLICE"
        skipper = KeyframeSkipper(self.camera.decode, period)
        skip = skipper.initial(float(stream.average_rate) if stream.average_rate else None)
        if skip == "NONKEY":
            self._skip_non_key(stream)
        elif skip is not None:
            stream.codec_context.skip_frame = skip
        self.skip_mode = skip
        bframes = BFrameCheck(stream, period, self.bframe_checks) if skip == "NONREF" else None
        gate = MotionGate(self.camera.motion, CameraAreas.of(self.camera)) if self.camera.motion is not None else None
        gops = GopSkipper() if self.camera.decode == "auto" else None
        wall_start = time.time()  # a recording's frames are dated by their place in it, from here
        clock = None if self.source.is_file else CaptureClock()
        mono_start = time.monotonic()
        t0: float | None = None
        last_t: float | None = None
        frame_period = 1.0 / float(stream.average_rate) if stream.average_rate else 0.04
        next_t = 0.0
        try:
            for packet in container.demux(stream):
                if stop.is_set():
                    return
                self.last_progress = time.monotonic()
                if gops is not None and gops.skip(packet):
                    self.counters.packets_skipped += 1
                    continue
                if bframes is not None:
                    bframes.feed(packet)
                frames = packet.decode()
                if (
                    gops is not None
                    and t0 is not None
                    and self._ends_group(packet, gops, t0, next_t, period, frame_period)
                ):
                    frames += self._drain(stream)
                    gops.skip_to_keyframe()
                for frame in frames:
                    self.counters.decoded += 1
                    if bframes is not None:
                        bframes.main_frame(frame)
                    # Frames without a timestamp (often the first of an RTSP stream) get one from the frame
                    # rate, never from the wall clock: sampling must depend on the stream alone.
                    t = frame.time if frame.time is not None else (None if last_t is None else last_t + frame_period)
                    if t is None:
                        rel = 0.0
                    else:
                        t0 = t if t0 is None else t0
                        rel, last_t = t - t0, t
                    captured_at = wall_start + rel if clock is None else clock.captured_at(rel, time.time())
                    if not self.keyframes_only and skipper.observe(frame, rel):
                        self._skip_non_key(stream)
                        if bframes is not None:
                            bframes.close()
                            bframes = None
                    if self.source.is_file and self.camera.realtime:  # a recording plays at its own pace
                        ahead = rel - (time.monotonic() - mono_start)
                        if ahead > 0 and stop.wait(ahead):
                            return
                    if rel + 1e-6 < next_t:
                        continue
                    next_t = max(next_t + period, rel)  # no burst of catch-up frames after a gap
                    if gops is not None and t0 is not None:
                        gops.sampled(t0 + next_t, frame_period)
                    self.counters.sampled += 1
                    if gate is not None and not gate.passes(frame, rel):
                        self.counters.motion_skipped += 1
                        continue
                    self._send(frame, captured_at)
                if bframes is not None and bframes.verdict is not None:
                    self._bframes_decided(stream, bframes)
                    bframes = None
        except (av.error.FFmpegError, OSError) as exc:
            raise source_error(exc, self.where, self.source) from None
        finally:
            if bframes is not None:
                bframes.close()
            container.close()
        raise StreamEnded(
            f"{self.where}: " + ("end of recording" if self.source.is_file else "stream ended (server closed it)")
        )
