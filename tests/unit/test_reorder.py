"""Results of parallel workers put back in frame order per camera before tracking."""

from maskwatch.messages import FrameMessage, FrameResult
from maskwatch.storage.record.reorder import Reorderer


def result(camera: str, seq: int, captured: float | None = None) -> FrameResult:
    return FrameResult(FrameMessage(camera, seq, 1000.0 + seq if captured is None else captured, 8, 8, b""), ())


def seqs(released: list[tuple[FrameResult, str]]) -> list[int]:
    return [r.frame.seq for r, _ in released]


def test_in_order_results_pass_at_once() -> None:
    r: Reorderer[str] = Reorderer(window_s=2)
    for i in range(3):
        r.add(result("a", i), f"d{i}", now=0)
    assert seqs(r.release(now=0)) == [0, 1, 2] and r.held() == 0


def test_a_later_frame_waits_for_the_earlier_one() -> None:
    r: Reorderer[str] = Reorderer(window_s=2)
    r.add(result("a", 0), "d0", now=0)
    r.add(result("a", 2), "d2", now=0)
    r.add(result("b", 0), "b0", now=0)
    assert seqs(r.release(now=0.5)) == [0, 0]  # a0 and b0; a2 waits for a1
    r.add(result("a", 1), "d1", now=0.6)
    released = r.release(now=0.7)
    assert seqs(released) == [1, 2] and [t for _, t in released] == ["d1", "d2"]


def test_a_gap_is_given_up_after_the_window() -> None:
    r: Reorderer[str] = Reorderer(window_s=2)
    r.add(result("a", 0), "d0", now=0)
    r.add(result("a", 3), "d3", now=0)
    assert seqs(r.release(now=1)) == [0]
    assert seqs(r.release(now=2.1)) == [3]  # frames 1 and 2 were dropped upstream
    r.add(result("a", 4), "d4", now=2.2)
    assert seqs(r.release(now=2.2)) == [4]


def test_a_restarted_ingest_counts_from_zero_again() -> None:
    r: Reorderer[str] = Reorderer(window_s=2)
    for i in range(5):
        r.add(result("a", i), f"d{i}", now=0)
    r.release(now=0)
    r.add(result("a", 0, captured=2000.0), "new0", now=1)
    r.add(result("a", 1, captured=2000.5), "new1", now=1)
    assert seqs(r.release(now=1)) == [0, 1]


def test_flush_releases_everything_held() -> None:
    r: Reorderer[str] = Reorderer(window_s=60)
    r.add(result("a", 5), "d5", now=0)
    r.add(result("a", 7), "d7", now=0)
    assert r.release(now=1) == []
    assert seqs(r.release(now=1, flush=True)) == [5, 7] and r.held() == 0
