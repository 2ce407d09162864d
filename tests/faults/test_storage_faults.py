"""Faults of the disk and of an alert channel, on real processes: the snapshot disk full, the
snapshot disk read-only, and an alert channel whose sender throws. Each keeps what it could not
write, says so, and exits non-zero when asked to stop before it could write it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maskwatch.config import parse_settings
from maskwatch.queue import open_queue
from maskwatch.streams import RESULTS
from tests.support.disks import SmallDisk, small_disk
from tests.support.factories import record_violations
from tests.support.pipeline import Pipeline, fast_config, report_row, wait_until
from tests.support.receivers import webhook_receiver
from tests.support.results import publish_frames
from tests.support.services import OwnPostgres, OwnRedis

pytestmark = [pytest.mark.service, pytest.mark.slow, pytest.mark.faults]

FRAMES = 20
CAMERA = {"id": "cam-1", "name": "Entrance", "url": "rtsp://127.0.0.1:9/x"}


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    with small_disk(tmp_path / "snapshot-disk", "1m") as d:
        yield d


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_snapshot_disk_fault(
    fault: str,
    disk: SmallDisk,
    own_redis: OwnRedis,
    own_postgres: OwnPostgres,
    tmp_path: Path,
    fault_report: Path,
) -> None:
    cfg = fast_config(
        cameras=[CAMERA],
        queue={"url": own_redis.url},
        database={"url": own_postgres.create_database(f"f9{fault[0]}")},
        snapshots={"dir": str(disk.mount / "snapshots")},
    )
    pipe = Pipeline(tmp_path, cfg)
    queue = open_queue(own_redis.url)
    disk.fill() if fault == "full" else disk.read_only(True)
    publish_frames(queue, FRAMES)
    first = pipe.start("record")
    detect = wait_until(lambda: "snapshot disk unavailable" in pipe.log("record"), 20, "the disk fault reported")
    time.sleep(1)
    assert first.poll() is None, pipe.log("record")[-2000:]  # it waits, it does not die
    assert queue.backlog(RESULTS) == FRAMES  # nothing acknowledged
    if fault == "read-only":
        # Asked to stop before it could write: it says so, exits non-zero, and leaves the results queued
        # for the next recorder, which takes them over once they have sat unacknowledged long enough.
        first.terminate()
        assert first.wait(30) == 1, pipe.log("record")[-2000:]
        assert f"{FRAMES} results unrecorded" in pipe.log("record")
        assert queue.backlog(RESULTS) == FRAMES
        pipe.start("record", name="record-again")
    assert not list(disk.mount.rglob("*.tmp"))
    disk.free() if fault == "full" else disk.read_only(False)
    fixed_at = time.monotonic()
    wait_until(lambda: queue.backlog(RESULTS) == 0, 60, "the held results recorded")
    recover = time.monotonic() - fixed_at
    codes = pipe.stop()
    violations, recorded = pipe.violations(), pipe.frames_recorded("cam-1")
    queue.close()
    expected = {"record": 1, "record-again": 0} if fault == "read-only" else {"record": 0}
    assert codes == expected, {n: pipe.log(n)[-2000:] for n in codes}
    assert len(violations) == 1 and recorded == FRAMES
    stopped = "; stopped mid-fault: exit 1, results kept for the next recorder" if fault == "read-only" else ""
    report_row(
        fault_report,
        fault=f"{'9' if fault == 'full' else '10'}. snapshot disk {fault}",
        detect_s=detect,
        recover_s=recover,
        lost=f"nothing: {recorded}/{FRAMES} results recorded, 1 violation{stopped}",
    )


def test_an_alert_channel_that_throws(own_postgres: OwnPostgres, tmp_path: Path, fault_report: Path) -> None:
    """A webhook address with two ports passes the address pattern but makes the HTTP client raise
    an error that is not an HTTP error: the channel logs it, retries, and the others deliver."""
    with webhook_receiver() as healthy:
        cfg = fast_config(
            cameras=[CAMERA],
            database={"url": own_postgres.create_database("f11")},
            snapshots={"dir": str(tmp_path / "snapshots")},
            alerts={"webhooks": [{"url": "http://127.0.0.1:80:80/hook"}, {"url": healthy.url}]},
        )
        pipe = Pipeline(tmp_path, cfg)
        record_violations(parse_settings(cfg), n=3)
        proc = pipe.start("alerts")
        try:
            detect = wait_until(lambda: "failed unexpectedly" in pipe.log("alerts"), 20, "the sender's error logged")
            healthy_s = wait_until(lambda: len(healthy.accepted()) == 3, 20, "the other endpoint served")
            wait_until(lambda: pipe.log("alerts").count("failed unexpectedly") >= 2, 20, "the failing one retried")
            alive = proc.poll() is None
        finally:
            codes = pipe.stop()
        outbox = pipe.outbox()
    assert alive and codes == {"alerts": 0}, pipe.log("alerts")[-2000:]
    assert healthy.accepted_twice() == []
    assert sorted(state for _, _, state in outbox) == ["delivered"] * 3 + ["pending"] * 3  # kept for retries
    report_row(
        fault_report,
        fault="11. an alert channel's sender throws",
        detect_s=detect,
        recover_s=None,
        lost=f"nothing: the other channel delivered 3/3 ({healthy_s:.1f} s); the failing channel keeps its 3 "
        "pending and retries them, alive",
    )
