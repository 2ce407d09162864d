"""Capture times of live frames: never after the frame arrived, and in the order of capture."""

import itertools
from collections.abc import Sequence

import pytest

from maskwatch.ingest.clock import CaptureClock

CONNECTED = 1_000_000.0


def stamp(arrivals: Sequence[tuple[float, float]], clock: CaptureClock | None = None) -> list[float]:
    clock = clock or CaptureClock()
    return [clock.captured_at(t, at) for t, at in arrivals]


def test_a_burst_on_connect_is_not_dated_in_the_future() -> None:
    # Frame k is captured at CONNECTED - 0.5 + 0.04 k. The half second buffered before the
    # connection arrives at once, then frames come 50 ms after capture.
    captured = [CONNECTED - 0.5 + 0.04 * k for k in range(100)]
    arrived = [CONNECTED + 0.001 * k if k < 13 else c + 0.05 for k, c in enumerate(captured)]
    times = stamp([(0.04 * k, at) for k, at in enumerate(arrived)])
    assert all(t <= at for t, at in zip(times, arrived, strict=True))
    assert all(b > a for a, b in itertools.pairwise(times))
    # Once live: the stream's spacing, and within the 50 ms between capture and arrival.
    assert times[-1] - times[-2] == pytest.approx(0.04, abs=1e-4)
    assert captured[-1] <= times[-1] <= arrived[-1]


def test_late_frames_keep_their_capture_time() -> None:
    # Frames 50-59 come out of a starved reader up to 3 s late: their capture times stay on the stream's rhythm.
    arrivals = [(k * 0.04, CONNECTED + k * 0.04 + (3.0 if 50 <= k < 60 else 0.0)) for k in range(100)]
    times = stamp(arrivals)
    assert [round(t - CONNECTED, 2) for t in times] == [round(k * 0.04, 2) for k in range(100)]


def test_a_camera_clock_slower_than_the_hosts_is_followed() -> None:
    # The camera's seconds are 1.0001 real ones: after an hour its timestamps are 0.36 s behind.
    arrivals = [(s, CONNECTED + s * 1.0001) for s in range(0, 3600, 1)]
    times = stamp(arrivals)
    assert max(at - c for c, (_, at) in zip(times, arrivals, strict=True)) < 0.01


def test_timestamps_that_go_back_start_afresh() -> None:
    clock = CaptureClock()
    stamp([(k * 1.0, CONNECTED + k) for k in range(10)], clock)
    assert clock.captured_at(0.5, CONNECTED + 10.2) == pytest.approx(CONNECTED + 10.2)
    assert clock.captured_at(1.5, CONNECTED + 11.2) == pytest.approx(CONNECTED + 11.2)
