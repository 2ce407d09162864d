"""When a decoded frame was captured, and whether it is the next one to sample.

A frame's place in the stream decides both, never the moment it happened to be decoded: sampling
must depend on the stream alone, so a replay samples the same frames.
"""

from __future__ import annotations

import time

import av

from maskwatch.ingest.clock import CaptureClock
from maskwatch.ingest.decoding import GopSkipper


class FrameSampler:
    """Dates frames and picks one every `period` seconds of stream time.

    A recording's frames are dated by their place in it from when reading started; a live
    camera's by the capture clock, which never dates a frame after it arrived."""

    def __init__(self, period: float, frame_period: float, live: bool) -> None:
        self.period = period
        self.frame_period = frame_period
        self.wall_start = time.time()
        self.clock = CaptureClock() if live else None
        self.t0: float | None = None  # stream time of the first frame with a timestamp
        self.last_t: float | None = None
        self.next_t = 0.0  # stream time (from t0) of the next sample

    def stamp(self, frame: av.VideoFrame) -> tuple[float, float]:
        """The frame's time from the start of the stream, and when it was captured (Unix time)."""
        # Frames without a timestamp (often the first of an RTSP stream) get one from the frame
        # rate, never from the wall clock.
        last = self.last_t
        t = frame.time if frame.time is not None else (None if last is None else last + self.frame_period)
        rel = 0.0
        if t is not None:
            self.t0 = t if self.t0 is None else self.t0
            rel, self.last_t = t - self.t0, t
        captured_at = self.wall_start + rel if self.clock is None else self.clock.captured_at(rel, time.time())
        return rel, captured_at

    def due(self, rel: float, gops: GopSkipper | None) -> bool:
        """Whether the frame at `rel` is the next sample; if so, the one after is scheduled."""
        if rel + 1e-6 < self.next_t:
            return False
        self.next_t = max(self.next_t + self.period, rel)  # no burst of catch-up frames after a gap
        if gops is not None and self.t0 is not None:
            gops.sampled(self.t0 + self.next_t, self.frame_period)
        return True

    def ends_group(self, packet: av.Packet, gops: GopSkipper) -> bool:
        """Whether `packet` reaches the next sample time and holds the last frame its group of
        pictures gives to sample (valid only where every B-frame is skipped)."""
        if self.t0 is None or packet.pts is None or packet.time_base is None:
            return False
        rel = float(packet.pts * packet.time_base) - self.t0
        return rel + 1e-6 >= self.next_t and gops.ends_group(
            self.t0 + max(self.next_t + self.period, rel), self.frame_period
        )
