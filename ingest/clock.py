"""When a live camera's frame was captured, from the stream's timestamps and the wall clock."""

from __future__ import annotations

#: How fast (seconds per second of stream) the anchor may rise: camera clocks are off by 100 ppm
#: or so, and a camera clock slower than the host's would otherwise leave capture times ever
#: further behind.
MAX_DRIFT = 1e-3


class CaptureClock:
    """Capture times of one connection's frames, in wall-clock seconds.

    A frame's timestamp says how long after the first frame it was captured, the wall clock when it
    arrived. Anchoring the timestamps at the first frame's arrival dates frames in the future:
    servers and cameras send a burst of buffered frames on connect (the benchmark's RTSP server
    about half a second's worth), so a frame at the end of that burst arrives together with the
    first, half a second before "first arrival + its timestamp". A frame may arrive late, but never
    before it was captured, so the anchor (the capture time of timestamp 0) is the least
    `arrival - timestamp` seen so far, allowed to rise by `MAX_DRIFT`: every capture time is then at
    or before its frame's arrival, and later than the one before it."""

    def __init__(self, max_drift: float = MAX_DRIFT) -> None:
        self.max_drift = max_drift
        self._anchor: float | None = None
        self._last_t = 0.0

    def captured_at(self, t: float, arrived: float) -> float:
        """`t`: seconds since the connection's first frame, by the stream; `arrived`: the wall
        clock (epoch seconds) when the frame came out of the decoder."""
        earliest = arrived - t
        if self._anchor is None or t < self._last_t:  # first frame, or the stream's timestamps went back
            self._anchor = earliest
        else:
            self._anchor = min(self._anchor + self.max_drift * (t - self._last_t), earliest)
        self._last_t = t
        return self._anchor + t
