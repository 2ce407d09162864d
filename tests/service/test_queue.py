"""Queue semantics, identical for the in-memory queue and real Redis Streams."""

import time
from collections.abc import Iterator

import pytest

from maskwatch.queue import Queue, QueueError, open_queue


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.service)])
def queue(request: pytest.FixtureRequest) -> Iterator[Queue]:
    url = "memory://" if request.param == "memory" else request.getfixturevalue("redis_url")
    q = open_queue(url)
    yield q
    q.close()


def test_publish_read_ack_removes(queue: Queue) -> None:
    queue.ensure_group("s1", "g")
    queue.ensure_group("s1", "g")  # idempotent
    for i in range(3):
        assert queue.publish("s1", {"n": str(i).encode()}, maxlen=10) == 0
    got = queue.read("g", "c1", ["s1"], count=2, block_ms=100)
    assert [d.fields["n"] for d in got] == [b"0", b"1"]
    assert queue.backlog("s1") == 3
    queue.ack("g", got)
    assert queue.backlog("s1") == 1
    rest = queue.read("g", "c2", ["s1"], count=10, block_ms=100)
    assert [d.fields["n"] for d in rest] == [b"2"]


def test_consumers_share_entries(queue: Queue) -> None:
    queue.ensure_group("s2", "g")
    for i in range(4):
        queue.publish("s2", {"n": str(i).encode()}, maxlen=10)
    a = queue.read("g", "a", ["s2"], count=2, block_ms=100)
    b = queue.read("g", "b", ["s2"], count=2, block_ms=100)
    assert {d.fields["n"] for d in a}.isdisjoint({d.fields["n"] for d in b})
    assert len(a) == len(b) == 2


def test_read_across_streams_and_block_timeout(queue: Queue) -> None:
    queue.ensure_group("x", "g")
    queue.ensure_group("y", "g")
    t0 = time.monotonic()
    assert queue.read("g", "c", ["x", "y"], count=5, block_ms=200) == []
    assert time.monotonic() - t0 >= 0.15
    queue.publish("y", {"v": b"1"}, maxlen=5)
    got = queue.read("g", "c", ["x", "y"], count=5, block_ms=200)
    assert [(d.stream, d.fields["v"]) for d in got] == [("y", b"1")]


def test_bound_drops_oldest_and_counts(queue: Queue) -> None:
    queue.ensure_group("s3", "g")
    dropped = sum(queue.publish("s3", {"n": str(i).encode()}, maxlen=5) for i in range(400))
    left = queue.backlog("s3")
    # Redis trims approximately (whole nodes); either way every entry is kept or counted.
    assert dropped + left == 400
    assert left < 400
    newest = queue.read("g", "c", ["s3"], count=1000, block_ms=100)
    assert newest[-1].fields["n"] == b"399"


def test_reclaim_from_a_dead_consumer(queue: Queue) -> None:
    queue.ensure_group("s4", "g")
    queue.publish("s4", {"n": b"1"}, maxlen=5)
    held = queue.read("g", "dead", ["s4"], count=1, block_ms=100)
    assert len(held) == 1
    assert queue.reclaim("g", "alive", "s4", min_idle_ms=10_000, count=10) == []
    time.sleep(0.06)
    taken = queue.reclaim("g", "alive", "s4", min_idle_ms=50, count=10)
    assert [d.id for d in taken] == [held[0].id]
    queue.ack("g", taken)
    assert queue.backlog("s4") == 0


def test_unsupported_url() -> None:
    with pytest.raises(QueueError, match="unsupported queue url"):
        open_queue("kafka://x")


def test_unreachable_redis_is_a_clear_error_without_password() -> None:
    q = open_queue("redis://user:s3cret@127.0.0.1:1/0")
    with pytest.raises(QueueError) as info:
        q.publish("s", {"a": b"1"}, maxlen=1)
    assert "s3cret" not in str(info.value)
    assert "127.0.0.1:1" in str(info.value)


def test_a_read_takes_at_most_count_and_the_streams_take_turns(queue: Queue) -> None:
    # 32 cameras behind by 10 frames each: a read of 8 must not hand one consumer 8 from every
    # camera (256 frames held while other consumers idle), nor serve the first cameras only.
    streams = [f"turns{i}" for i in range(32)]
    for name in streams:
        queue.ensure_group(name, "g")
        for n in range(10):
            queue.publish(name, {"n": str(n).encode()}, maxlen=100)
    reads = [queue.read("g", "c", streams, count=8, block_ms=100) for _ in range(4)]
    assert [len(r) for r in reads] == [8, 8, 8, 8]
    served = [d.stream for r in reads for d in r]
    assert sorted(served) == sorted(streams)  # every camera once before any camera twice
    assert all(d.fields["n"] == b"0" for r in reads for d in r)  # each camera's oldest frame first
    few = queue.read("g", "c", streams[:2], count=8, block_ms=100)
    assert len(few) == 8 and {d.stream for d in few} == set(streams[:2])
