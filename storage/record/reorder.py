"""Putting each camera's results back in frame order before tracking.

Several inference workers finish frames out of order; tracking and the K-of-M confirmation
need them in order. A result is released when every earlier frame of its camera has been, or
when it has waited `window_s` (the earlier frame was dropped, or is still being retried).
Held results stay unacknowledged on the queue, so nothing held is lost if the recorder stops.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from maskwatch.messages import FrameResult

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class _Camera(Generic[T]):
    next_seq: int = 0  # ingest numbers each camera's frames from 0 when it starts
    last_captured: float = float("-inf")
    held: list[tuple[int, int, float, FrameResult, T]] = field(default_factory=list)  # (seq, tie, since, ...)


class Reorderer(Generic[T]):
    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self._cameras: dict[str, _Camera[T]] = {}
        self._tie = itertools.count()

    def add(self, result: FrameResult, token: T, now: float | None = None) -> None:
        cam = self._cameras.setdefault(result.frame.camera_id, _Camera())
        since = time.monotonic() if now is None else now
        heapq.heappush(cam.held, (result.frame.seq, next(self._tie), since, result, token))

    def held(self) -> int:
        return sum(len(c.held) for c in self._cameras.values())

    def release(self, now: float | None = None, flush: bool = False) -> list[tuple[FrameResult, T]]:
        """Results now in order (all of them with `flush`), oldest first per camera."""
        now = time.monotonic() if now is None else now
        out: list[tuple[FrameResult, T]] = []
        for cam in self._cameras.values():
            while cam.held:
                seq, _, since, result, token = cam.held[0]
                restarted = seq < cam.next_seq and result.frame.captured_at > cam.last_captured
                if seq <= cam.next_seq or restarted or flush or now - since >= self.window_s:
                    heapq.heappop(cam.held)
                    if seq > cam.next_seq and not flush:
                        log.info(
                            "camera %s: frame(s) %d-%d not there after %.1f s (dropped, or still in flight); "
                            "tracking goes on without them",
                            result.frame.camera_id,
                            cam.next_seq,
                            seq - 1,
                            self.window_s,
                        )
                    # A seq below the expected one is a late frame (released as it is) or, if it was
                    # captured after everything released so far, an ingest that restarted from 0.
                    if seq >= cam.next_seq or restarted:
                        cam.next_seq = seq + 1
                    cam.last_captured = max(cam.last_captured, result.frame.captured_at)
                    out.append((result, token))
                else:
                    break
        return out
