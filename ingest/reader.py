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
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import av
import cv2

from maskwatch.areas import CameraAreas
from maskwatch.config import CameraConfig, IngestConfig
from maskwatch.ingest.decoding import BFrameCheck, GopSkipper, KeyframeSkipper
from maskwatch.ingest.motion import MotionGate
from maskwatch.ingest.sampler import FrameSampler
from maskwatch.ingest.scene import SceneCuts
from maskwatch.messages import FrameMessage
from maskwatch.redact import redact_url, without_userinfo

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


# The protocols FFmpeg may use for a source and for whatever the stream itself refers to (an HLS
# playlist's segments, an SDP's RTP ports, a concat list's entries): a camera, or a file posing as a
# recording, must not make maskwatch read local files or reach other hosts by other means.
RTSP_PROTOCOLS = "tcp,tls"  # rtsp_transport=tcp: RTP comes interleaved on the RTSP connection
HTTP_PROTOCOLS = "http,https,tcp,tls,crypto"  # crypto: AES-128 HLS segments
FILE_PROTOCOLS = "file"


def resolve_source(url: str) -> Source:
    fast_probe = {"analyzeduration": "0", "probesize": "32768"}
    if url.isdigit():
        return Source(f"/dev/video{url}", "v4l2", {"protocol_whitelist": FILE_PROTOCOLS}, is_file=False)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("rtsp", "rtsps"):
        options = {"rtsp_transport": "tcp", "protocol_whitelist": RTSP_PROTOCOLS, **fast_probe}
        return Source(url, None, options, is_file=False)
    if scheme in ("http", "https"):
        return Source(url, None, {"protocol_whitelist": HTTP_PROTOCOLS, **fast_probe}, is_file=False)
    # `file:` first: FFmpeg would otherwise read a path's leading `word:` as a protocol to use.
    return Source(f"file:{Path(url).expanduser()}", None, {"protocol_whitelist": FILE_PROTOCOLS}, is_file=True)


DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}


def probe_host(url: str, where: str, timeout_s: float) -> None:
    """Connect to the camera's host first: FFmpeg reports a name that does not resolve, or a host
    that does not answer, as an opaque I/O or data error; an operator needs to know which."""
    parsed = urlsplit(without_userinfo(url))  # a password may hold `/`, `?`, `#` or `@`
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
        path = Path(raw_url.removeprefix("file:"))  # FFmpeg is given files as file:PATH
        if is_file and not path.is_absolute():  # from another folder, "no such file" reads like a lost file
            return f"{where}: no such file ({path.absolute()}: relative paths are read from the current directory)"
        return f"{where}: no such file"
    if isinstance(exc, av.error.InvalidDataError):
        if not is_file:  # e.g. a frozen server that accepts the connection but never answers properly
            return f"{where}: no valid stream description from the server (not responding, or not a camera stream)"
        return f"{where}: not a video stream PyAV can decode"
    # FFmpeg's own messages quote the URL it was given, password included.
    return f"{where}: {type(exc).__name__}: {str(exc).replace(raw_url, redact_url(raw_url))}"


@dataclass
class ReaderCounters:
    decoded: int = 0
    packets_skipped: int = 0
    sampled: int = 0
    motion_skipped: int = 0
    encode_errors: int = 0
    drains: int = 0  # groups of pictures whose last sample was flushed out of the decoder
    damaged: int = 0  # packets of a recording the decoder refused, skipped


@dataclass
class _Decoding:
    """What one connection's decoding loop keeps from packet to packet."""

    stream: av.VideoStream
    sampler: FrameSampler
    skipper: KeyframeSkipper
    gops: GopSkipper | None
    bframes: BFrameCheck | None
    gate: MotionGate | None
    started: float = field(default_factory=time.monotonic)  # a recording is paced from here


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
        # Only a change in how the camera is decoded is the operator's news; "as before" is not.
        level = logging.INFO if check.verdict else logging.DEBUG
        log.log(level, "%s: B-frame check: %s: %s", self.where, check.reason, outcome)

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

    def _start_decoding(self, stream: av.VideoStream) -> _Decoding:
        period = 1.0 / self.camera.sample_fps
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
        frame_period = 1.0 / float(stream.average_rate) if stream.average_rate else 0.04
        motion = self.camera.motion
        return _Decoding(
            stream=stream,
            sampler=FrameSampler(period, frame_period, live=not self.source.is_file),
            skipper=skipper,
            gops=GopSkipper() if self.camera.decode == "auto" else None,
            bframes=BFrameCheck(stream, period, self.bframe_checks) if skip == "NONREF" else None,
            gate=MotionGate(motion, CameraAreas.of(self.camera)) if motion is not None else None,
        )

    def _decode(self, packet: av.Packet, d: _Decoding) -> list[av.VideoFrame]:
        """The frames a packet gives, with those the decoder holds back when it ends the group's sampling."""
        if d.gops is not None and d.gops.skip(packet):
            self.counters.packets_skipped += 1
            return []
        if d.bframes is not None:
            d.bframes.feed(packet)
        try:
            frames: list[av.VideoFrame] = packet.decode()
        except av.error.InvalidDataError as exc:
            if not self.source.is_file:
                raise  # a live stream reconnects: the damage is in this connection
            self._skip_damaged(packet, exc)
            return []
        # Only where every B-frame is skipped: then I- and P-frames are all the decoder outputs, in
        # the order they arrive, so the packet that reaches the next sample time is the sample.
        if d.gops is not None and self.skip_mode == "BIDIR" and d.sampler.ends_group(packet, d.gops):
            frames += self._drain(d.stream)
            d.gops.skip_to_keyframe()
        return frames

    def _skip_damaged(self, packet: av.Packet, exc: av.error.FFmpegError) -> None:
        """A damaged stretch of a recording is skipped, not replayed from the start: decoding
        resumes with the next packet the decoder accepts (at the latest, the next key frame)."""
        self.counters.damaged += 1
        if self.counters.damaged == 1:
            at = (
                f" at {float(packet.pts * packet.time_base):.1f} s"
                if packet.pts is not None and packet.time_base
                else ""
            )
            log.warning("%s: damaged data%s skipped (%s); reading on", self.where, at, exc.strerror or exc)

    def _take(self, frame: av.VideoFrame, d: _Decoding, stop: threading.Event) -> bool:
        """Sample, gate and send one decoded frame; False once `stop` is set while pacing a recording."""
        self.counters.decoded += 1
        if d.bframes is not None:
            d.bframes.main_frame(frame)
        rel, captured_at = d.sampler.stamp(frame)
        if not self.keyframes_only and d.skipper.observe(frame, rel):
            self._skip_non_key(d.stream)
            if d.bframes is not None:
                d.bframes.close()
                d.bframes = None
        if self.source.is_file and self.camera.realtime:  # a recording plays at its own pace
            ahead = rel - (time.monotonic() - d.started)
            if ahead > 0 and stop.wait(ahead):
                return False
        if not d.sampler.due(rel, d.gops):
            return True
        self.counters.sampled += 1
        if d.gate is not None and not d.gate.passes(frame, rel):
            self.counters.motion_skipped += 1
            return True
        self._send(frame, captured_at)
        return True

    def run(self, stop: threading.Event) -> None:
        """Returns when `stop` is set; raises StreamEnded or SourceError. `next_seq` follows the frames sent."""
        container, stream = self._open()
        d = self._start_decoding(stream)
        try:
            for packet in container.demux(stream):
                if stop.is_set():
                    return
                self.last_progress = time.monotonic()
                for frame in self._decode(packet, d):
                    if not self._take(frame, d, stop):
                        return
                if d.bframes is not None and d.bframes.verdict is not None:
                    self._bframes_decided(stream, d.bframes)
                    d.bframes = None
        except (av.error.FFmpegError, OSError) as exc:
            raise source_error(exc, self.where, self.source) from None
        finally:
            if d.bframes is not None:
                d.bframes.close()
            container.close()
        damaged = f" ({self.counters.damaged} damaged packets skipped)" if self.counters.damaged else ""
        raise StreamEnded(
            f"{self.where}: "
            + (f"end of recording{damaged}" if self.source.is_file else "stream ended (server closed it)")
        )
