"""In-process queue for the embedded mode: the Redis Streams semantics on a lock and a condition."""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from maskwatch.queue.base import Delivery, Queue
from maskwatch.streams import DEAD_LETTER


@dataclass
class _Pending:
    consumer: str
    since: float


@dataclass
class _Stream:
    entries: OrderedDict[str, Mapping[str, bytes]] = field(default_factory=OrderedDict)
    delivered: set[str] = field(default_factory=set)
    pending: dict[str, _Pending] = field(default_factory=dict)


class MemoryQueue(Queue):
    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._turn = 0  # the stream the next read starts with

    def _stream(self, name: str) -> _Stream:
        return self._streams.setdefault(name, _Stream())

    def publish(self, stream: str, fields: Mapping[str, bytes], maxlen: int) -> int:
        with self._cond:
            s = self._stream(stream)
            s.entries[f"{next(self._ids)}-0"] = dict(fields)
            dropped = 0
            while len(s.entries) > maxlen:
                old, _ = s.entries.popitem(last=False)
                s.delivered.discard(old)
                s.pending.pop(old, None)
                dropped += 1
            self._cond.notify_all()
            return dropped

    def ensure_group(self, stream: str, group: str) -> None:
        with self._cond:
            self._stream(stream)

    def read(self, group: str, consumer: str, streams: Sequence[str], count: int, block_ms: int) -> list[Delivery]:
        deadline = time.monotonic() + block_ms / 1000
        with self._cond:
            while True:
                out = self._take(consumer, streams, count)
                remaining = deadline - time.monotonic()
                if out or remaining <= 0:
                    return out
                self._cond.wait(remaining)

    def _undelivered(self, name: str, limit: int) -> deque[str]:
        """The oldest `limit` entries not delivered yet (a read needs no more from one stream)."""
        s = self._stream(name)
        return deque(itertools.islice((i for i in s.entries if i not in s.delivered), limit))

    def _take(self, consumer: str, streams: Sequence[str], count: int) -> list[Delivery]:
        """Up to `count` undelivered entries, one per stream per round, starting where the last read stopped."""
        if not streams:
            return []
        start = self._turn % len(streams)
        rotated = [*streams[start:], *streams[:start]]
        waiting = {name: self._undelivered(name, count) for name in rotated}
        out: list[Delivery] = []
        now = time.monotonic()
        while len(out) < count and any(waiting.values()):
            for k, name in enumerate(rotated):
                if waiting[name] and len(out) < count:
                    entry_id = waiting[name].popleft()
                    s = self._stream(name)
                    s.delivered.add(entry_id)
                    s.pending[entry_id] = _Pending(consumer, now)
                    out.append(Delivery(name, entry_id, s.entries[entry_id]))
                    self._turn = start + k + 1
        return out

    def ack(self, group: str, deliveries: Sequence[Delivery]) -> None:
        with self._cond:
            for d in deliveries:
                s = self._stream(d.stream)
                s.entries.pop(d.id, None)
                s.pending.pop(d.id, None)
                s.delivered.discard(d.id)

    def reclaim(self, group: str, consumer: str, stream: str, min_idle_ms: int, count: int) -> list[Delivery]:
        with self._cond:
            s = self._stream(stream)
            now = time.monotonic()
            out: list[Delivery] = []
            for entry_id, p in list(s.pending.items()):
                if len(out) >= count:
                    break
                if (now - p.since) * 1000 >= min_idle_ms and entry_id in s.entries:
                    s.pending[entry_id] = _Pending(consumer, now)
                    out.append(Delivery(stream, entry_id, s.entries[entry_id]))
            return out

    def backlog(self, stream: str) -> int:
        with self._cond:
            return len(self._stream(stream).entries)

    def lost_on_close(self) -> int:
        """Everything still queued: this queue lives in the process. Dead letters were each
        logged when set aside, so they are not counted again."""
        with self._cond:
            return sum(len(s.entries) for name, s in self._streams.items() if name != DEAD_LETTER)
