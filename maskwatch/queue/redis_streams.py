"""Redis Streams backend: consumer groups let any number of workers on any machine share a stream."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import redis

from maskwatch.queue.base import Delivery, Queue, QueueError
from maskwatch.redact import redact_url


class RedisQueue(Queue):
    def __init__(self, url: str, socket_timeout_s: float = 10.0) -> None:
        self._where = redact_url(url)
        self._redis = redis.Redis.from_url(url, socket_timeout=socket_timeout_s, socket_connect_timeout=5)
        self._turn = 0  # the stream `read` starts with

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise QueueError(f"redis {self._where}: {what} failed: {exc}") from exc

    def publish(self, stream: str, fields: Mapping[str, bytes], maxlen: int) -> int:
        pipe = self._redis.pipeline(transaction=True)
        pipe.xlen(stream)
        pipe.xadd(stream, dict(fields), maxlen=maxlen, approximate=True)  # type: ignore[arg-type]
        pipe.xlen(stream)
        before, _, after = self._call("XADD", pipe.execute)
        return max(0, int(before) + 1 - int(after))

    def ensure_group(self, stream: str, group: str) -> None:
        try:
            self._redis.xgroup_create(stream, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise QueueError(f"redis {self._where}: XGROUP CREATE {stream} {group} failed: {exc}") from exc
        except redis.RedisError as exc:
            raise QueueError(f"redis {self._where}: XGROUP CREATE failed: {exc}") from exc

    @staticmethod
    def _deliveries(stream: str, entries: Sequence[Any]) -> list[Delivery]:
        out = []
        for entry_id, fields in entries:
            if fields is None:  # trimmed while pending: nothing left to deliver
                continue
            out.append(Delivery(stream, entry_id.decode(), {k.decode(): v for k, v in fields.items()}))
        return out

    def read(self, group: str, consumer: str, streams: Sequence[str], count: int, block_ms: int) -> list[Delivery]:
        if not streams:
            return []
        # XREADGROUP's COUNT applies to each stream: over 32 cameras with a backlog one call would
        # hand a consumer 32 x count frames, held pending for seconds while other consumers idle.
        # So a call reads at most `count` streams, `count // streams` entries from each, and
        # goes on with the next streams only while it has fewer than `count`.
        out: list[Delivery] = []
        scanned = 0
        while len(out) < count and scanned < len(streams):
            want = count - len(out)
            size = min(want, len(streams) - scanned)
            window = [streams[(self._turn + i) % len(streams)] for i in range(size)]
            self._turn = (self._turn + size) % len(streams)
            scanned += size
            out += self._read(group, consumer, window, want // size, None)
        if out or block_ms <= 0:
            return out
        # Nothing waiting: block on every stream. Redis answers with the one stream that received
        # first, so this returns one entry (everything returned is pending: none may be cut off).
        return self._read(group, consumer, streams, 1, block_ms)

    def _read(
        self, group: str, consumer: str, streams: Sequence[str], count: int, block_ms: int | None
    ) -> list[Delivery]:
        reply = self._call(
            "XREADGROUP",
            self._redis.xreadgroup,
            group,
            consumer,
            dict.fromkeys(streams, ">"),
            count=count,
            block=block_ms,
        )
        out: list[Delivery] = []
        for stream, entries in reply or []:
            out.extend(self._deliveries(stream.decode(), entries))
        return out

    def ack(self, group: str, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        pipe = self._redis.pipeline(transaction=True)
        for d in deliveries:
            pipe.xack(d.stream, group, d.id)
            pipe.xdel(d.stream, d.id)
        self._call("XACK", pipe.execute)

    def reclaim(self, group: str, consumer: str, stream: str, min_idle_ms: int, count: int) -> list[Delivery]:
        reply = self._call(
            "XAUTOCLAIM", self._redis.xautoclaim, stream, group, consumer, min_idle_ms, start_id="0-0", count=count
        )
        return self._deliveries(stream, cast(Sequence[Any], reply[1]))

    def backlog(self, stream: str) -> int:
        return int(self._call("XLEN", self._redis.xlen, stream))

    def close(self) -> None:
        self._redis.close()
