"""What every stage loop shares: consumer naming and dead-lettering of unprocessable entries."""

from __future__ import annotations

import logging
import os
import socket

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
