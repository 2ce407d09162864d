"""What every stage loop shares: consumer naming and dead-lettering of unprocessable entries."""

from __future__ import annotations

import logging
import os
import socket
import time

from maskwatch.queue import Delivery, Queue
from maskwatch.streams import DEAD_LETTER

log = logging.getLogger(__name__)

DEAD_LETTER_MAXLEN = 100_000


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
