"""What every stage shares: the `Stage` protocol the runtime drives, consumer naming,
dead-lettering of unprocessable entries, taking over a dead consumer's entries, and outage logs."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Protocol, runtime_checkable

from maskwatch import metrics
from maskwatch.config import Settings
from maskwatch.queue import Delivery, Queue
from maskwatch.streams import DEAD_LETTER

log = logging.getLogger(__name__)

DEAD_LETTER_MAXLEN = 100_000
# Retries of an unavailable queue or database double up to this: cheap for the dependency,
# and work resumes within seconds of its return.
RETRY_MAX_S = 5.0


class Stage(Protocol):
    """One stage of the pipeline, as the runtime runs it (in a thread of its own)."""

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set; finish what is in hand first."""

    def reconfigure(self, settings: Settings) -> object:
        """Take over a reloaded configuration (cameras, ingest and tracking settings) while running."""

    def drained(self) -> bool:
        """Whether the queue in front of the stage is empty: on shutdown the runtime stops a stage
        once its upstream has stopped and this holds."""


@runtime_checkable
class Finite(Protocol):
    """A stage whose input can end (recordings play to their end)."""

    def all_finished(self) -> bool: ...


def consumer_name(stage: str) -> str:
    """Unique per process, and readable in XINFO output: stage-host-pid."""
    return f"{stage}-{socket.gethostname()}-{os.getpid()}"


def dead_letter(queue: Queue, group: str, delivery: Delivery, reason: str) -> None:
    """Move an entry no stage can ever process aside, with the reason, so it is kept and visible."""
    log.error("unprocessable entry %s on %s moved to %s: %s", delivery.id, delivery.stream, DEAD_LETTER, reason)
    fields = {**delivery.fields, "reason": reason.encode(), "stream": delivery.stream.encode()}
    queue.publish(DEAD_LETTER, fields, DEAD_LETTER_MAXLEN)
    queue.ack(group, [delivery])


class StaleReclaimer:
    """Takes over entries another consumer of the group held unacknowledged for `idle_ms` (it
    stopped or died). It checks at most every `idle_ms / 2`, so read loops stay cheap."""

    def __init__(self, queue: Queue, group: str, consumer: str, streams: list[str], idle_ms: int) -> None:
        self.queue = queue
        self.group = group
        self.consumer = consumer
        self.streams = streams
        self.idle_ms = idle_ms
        self.last_check = 0.0

    def take(self, count: int) -> list[Delivery]:
        now = time.monotonic()
        if now - self.last_check < self.idle_ms / 2000:
            return []
        self.last_check = now
        got: list[Delivery] = []
        for stream in self.streams:
            got += self.queue.reclaim(self.group, self.consumer, stream, self.idle_ms, count - len(got))
            if len(got) >= count:
                break
        if got:
            log.warning("%s: took over %d entries left by a stopped consumer", self.group, len(got))
        return got


class Outage:
    """Logs a dependency (queue, database) going away once, and once when it is back, however
    many retries happen in between: an operator sees two lines per outage, not one per frame."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.since: float | None = None
        self.failures = 0

    def failed(self, exc: BaseException, retry_s: float | None = None) -> None:
        self.failures += 1
        metrics.OUTAGE.labels(self.what).set(1)
        if self.since is None:
            self.since = time.monotonic()
            retry = f"; retrying every {retry_s:.1f} s or less" if retry_s is not None else "; retrying"
            log.error("%s unavailable: %s%s", self.what, exc, retry)
        else:
            log.debug("%s still unavailable (%d failures): %s", self.what, self.failures, exc)

    def ok(self) -> None:
        metrics.OUTAGE.labels(self.what).set(0)
        if self.since is not None:
            log.warning(
                "%s available again after %.1f s (%d failed attempts)",
                self.what,
                time.monotonic() - self.since,
                self.failures,
            )
            self.since, self.failures = None, 0

    @property
    def down(self) -> bool:
        return self.since is not None
