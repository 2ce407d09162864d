"""The queue interface both backends implement."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from maskwatch.errors import MaskwatchError


class QueueError(MaskwatchError):
    """The queue backend is unreachable or refused an operation."""


@dataclass(frozen=True)
class Delivery:
    stream: str
    id: str
    fields: Mapping[str, bytes]


class Queue(ABC):
    @abstractmethod
    def publish(self, stream: str, fields: Mapping[str, bytes], maxlen: int) -> int:
        """Append an entry; returns how many old entries were dropped to stay within `maxlen`."""

    @abstractmethod
    def ensure_group(self, stream: str, group: str) -> None:
        """Create the consumer group (reading from the start of the stream) if it is missing."""

    @abstractmethod
    def read(self, group: str, consumer: str, streams: Sequence[str], count: int, block_ms: int) -> list[Delivery]:
        """New entries from `streams`, at most `count` in all, waiting up to `block_ms` for the first.

        Streams take turns across calls, so a busy stream cannot starve the others. Everything
        returned is pending for `consumer` until acknowledged or reclaimed.
        """

    @abstractmethod
    def ack(self, group: str, deliveries: Sequence[Delivery]) -> None:
        """Mark entries done; they are removed from their stream."""

    @abstractmethod
    def reclaim(self, group: str, consumer: str, stream: str, min_idle_ms: int, count: int) -> list[Delivery]:
        """Take over entries another consumer has held unacknowledged for at least `min_idle_ms`."""

    @abstractmethod
    def backlog(self, stream: str) -> int:
        """Entries in the stream not yet acknowledged."""

    def lost_on_close(self) -> int:
        """Entries that closing the queue now would lose: none where the backend keeps them."""
        return 0

    def close(self) -> None:  # noqa: B027 - optional for backends holding no resources
        """Release connections."""
