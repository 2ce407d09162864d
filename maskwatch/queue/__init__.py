"""Queues between stages: an in-memory one (embedded mode) and Redis Streams (production).

Both have the same semantics, so the stages run unchanged on either:

- `publish` appends to a bounded stream; when the bound is exceeded the oldest entries are
  dropped and counted (a camera must never wait for a slow consumer).
- Each stream is read by one consumer group; any number of consumers share its entries.
- An entry stays pending until acknowledged; acknowledging deletes it, so a stream's length is
  its backlog and every trimmed entry is a real drop.
- Entries pending longer than `min_idle_ms` (their consumer died) can be reclaimed by another.
"""

from maskwatch.queue.base import Delivery, Queue, QueueError


def open_queue(url: str) -> Queue:
    """`memory://` or `redis://host:port/db`."""
    if url.startswith("memory://"):
        from maskwatch.queue.memory import MemoryQueue

        return MemoryQueue()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from maskwatch.queue.redis_streams import RedisQueue

        return RedisQueue(url)
    raise QueueError(f"unsupported queue url {url!r}: use memory:// or redis://host:port/db")


__all__ = ["Delivery", "Queue", "QueueError", "open_queue"]
