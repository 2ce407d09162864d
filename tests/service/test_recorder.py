"""The recorder stage on real databases: one violation per person, snapshots, outbox, counts,
and no loss while the database is down."""

import threading
import time
from pathlib import Path

import cv2
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from maskwatch.config import Settings, parse_settings
from maskwatch.messages import CameraHealth
from maskwatch.queue import open_queue
from maskwatch.storage.db import open_database
from maskwatch.storage.models import Camera, EvaluationCount, OutboxAlert, Violation, ViolationFrame
from maskwatch.storage.record.stage import RecorderStage, UnrecordedAtStop
from maskwatch.streams import HEALTH, RESULTS
from tests.support.disks import small_disk
from tests.support.results import publish_frames


def settings_for(database_url: str, tmp_path: Path) -> Settings:
    return parse_settings(
        {
            "cameras": [{"id": "cam-1", "name": "Entrance", "url": "rtsp://u:pw@127.0.0.1/x"}],
            "database": {"url": database_url},
            "snapshots": {"dir": str(tmp_path / "snaps")},
            "alerts": {
                "webhooks": [{"url": "http://127.0.0.1:1/hook"}],
                "email": {"host": "127.0.0.1", "sender": "a@b.c", "recipients": ["d@e.f"]},
            },
        }
    )


def run_until(stage: RecorderStage, condition, timeout: float = 20.0) -> Exception | None:
    """Run the stage until `condition` holds (or `timeout`), stop it; what it raised on stopping, if anything."""
    stop = threading.Event()
    raised: list[Exception] = []

    def target() -> None:
        try:
            stage.run(stop, 100)
        except Exception as exc:
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    return raised[0] if raised else None


def test_records_one_violation_with_snapshots_outbox_and_counts(database_url: str, tmp_path: Path) -> None:
    queue = open_queue("memory://")
    stage = RecorderStage(settings_for(database_url, tmp_path), queue, open_database(database_url))
    publish_frames(queue, 10)
    queue.publish(HEALTH, CameraHealth("cam-1", "online", "", 10, 1, 1_790_000_005.0).to_fields(), 100)
    run_until(stage, lambda: queue.backlog(RESULTS) == 0 and queue.backlog(HEALTH) == 0)

    engine = create_engine(database_url)
    with Session(engine) as s:
        (v,) = s.scalars(select(Violation)).all()
        assert (v.camera_id, v.label) == ("cam-1", "without_mask")
        assert v.started_at.timestamp() == 1_790_000_000.0
        assert Path(v.snapshot_path).stat().st_size > 5000 and Path(v.crop_path).is_file()
        crop = cv2.imread(v.crop_path)
        assert crop is not None and crop.shape[0] < 300  # a face crop, not the frame
        alerts = s.scalars(select(OutboxAlert)).all()
        assert sorted(a.channel for a in alerts) == ["email", "webhook:0"]
        assert alerts[0].payload["camera_name"] == "Entrance" and alerts[0].payload["event_id"] == v.id
        (count,) = s.scalars(select(EvaluationCount)).all()
        assert (count.people, count.violations) == (2, 1)
        cam = s.get(Camera, "cam-1")
        assert cam is not None and cam.state == "online" and cam.frames_dropped == 1
        assert "pw" not in cam.url
    engine.dispose()


def test_keeps_small_context_pictures_of_the_frames_that_confirmed_it(database_url: str, tmp_path: Path) -> None:
    """Confirmed on its third sighting (3 of 5 over 0.8 s, half a second apart): those three frames
    are kept as small pictures of the person, next to the snapshot, and listed in the database."""
    queue = open_queue("memory://")
    stage = RecorderStage(settings_for(database_url, tmp_path), queue, open_database(database_url))
    publish_frames(queue, 10)
    run_until(stage, lambda: queue.backlog(RESULTS) == 0)

    engine = create_engine(database_url)
    with Session(engine) as s:
        (v,) = s.scalars(select(Violation)).all()
        frames = s.scalars(select(ViolationFrame).order_by(ViolationFrame.position)).all()
    engine.dispose()
    assert [f.position for f in frames] == [0, 1, 2] and {f.violation_id for f in frames} == {v.id}
    assert [f.captured_at.timestamp() for f in frames] == [1_790_000_000.0, 1_790_000_000.5, 1_790_000_001.0]
    assert frames[-1].captured_at == v.confirmed_at
    assert {f.label for f in frames} == {"without_mask"}
    for f in frames:
        path = Path(f.path)
        assert path.parent == Path(v.snapshot_path).parent and path.name.startswith(v.track_id)
        picture = cv2.imread(f.path)
        assert picture is not None and max(picture.shape[:2]) == 240  # downscaled around the person
        assert path.stat().st_size < 30_000
        x1, y1, x2, y2 = f.box  # the face, where the console blurs it for viewers
        assert 0 <= x1 < x2 <= 240 and 0 <= y1 < y2 <= 240 and x2 - x1 > 40


def test_sightings_that_came_without_their_picture_are_left_out_of_the_context(
    database_url: str, tmp_path: Path
) -> None:
    """Inference passes a frame's JPEG on only when it holds a violation (or is due as the live
    picture): a person first seen masked, then without a mask, has sightings with no picture, and the
    violation must still be recorded, with the pictures there are, and the live picture kept."""
    from dataclasses import replace

    from maskwatch.messages import FrameMessage, FrameResult
    from maskwatch.storage.record.live import read_live
    from tests.support.results import JPEG, MASKED, UNMASKED

    queue = open_queue("memory://")
    settings = settings_for(database_url, tmp_path)
    stage = RecorderStage(settings, queue, open_database(database_url))
    start = 1_790_000_000.0
    looks_masked = replace(UNMASKED, label="with_mask", probs={"with_mask": 0.9})
    for i in range(8):
        face, jpeg = (looks_masked, b"") if i < 3 else (UNMASKED, JPEG)
        frame = FrameMessage("cam-1", i, start + i * 0.5, 1280, 720, jpeg)
        queue.publish(RESULTS, FrameResult(frame, (MASKED, face)).to_fields(), 10_000)
    last = FrameMessage("cam-1", 8, start + 4.0, 1280, 720, b"")  # the violator gone: no picture passed on
    queue.publish(RESULTS, FrameResult(last, (MASKED,)).to_fields(), 10_000)
    live_written = lambda: read_live(settings.snapshots.dir, "cam-1") is not None  # noqa: E731
    raised = run_until(stage, lambda: queue.backlog(RESULTS) == 0 and live_written())
    assert raised is None

    engine = create_engine(database_url)
    with Session(engine) as s:
        assert len(s.scalars(select(Violation)).all()) == 1
        frames = s.scalars(select(ViolationFrame).order_by(ViolationFrame.position)).all()
    engine.dispose()
    assert frames and all(f.captured_at.timestamp() >= start + 1.5 for f in frames)  # only those with a picture
    assert all(cv2.imread(f.path) is not None for f in frames)
    live = read_live(settings.snapshots.dir, "cam-1")
    assert live is not None and live.captured_at == start + 3.5  # the newest frame that had a picture


@pytest.mark.service
def test_database_outage_loses_nothing(postgres_url: str, tmp_path: Path) -> None:
    queue = open_queue("memory://")
    stage = RecorderStage(settings_for(postgres_url, tmp_path), queue, open_database(postgres_url))
    dbname = postgres_url.rsplit("/", 1)[1]
    admin = create_engine(postgres_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    stage.engine.dispose()
    with admin.connect() as c:  # the database goes away: no new connections, current ones cut
        c.execute(text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false'))
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}'"))
    publish_frames(queue, 10)
    run_until(stage, lambda: False, timeout=1.5)  # it keeps failing, and keeps the batch
    assert queue.backlog(RESULTS) == 10
    with admin.connect() as c:
        c.execute(text(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true'))
    run_until(stage, lambda: queue.backlog(RESULTS) == 0)
    engine = create_engine(postgres_url)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Violation)) == 1
        assert s.scalar(select(func.count()).select_from(OutboxAlert)) == 2
    engine.dispose()
    admin.dispose()


def test_malformed_results_are_dead_lettered_not_dropped(tmp_path: Path) -> None:
    from maskwatch.streams import DEAD_LETTER

    queue = open_queue("memory://")
    stage = RecorderStage(
        settings_for(f"sqlite:///{tmp_path / 'm.db'}", tmp_path), queue, open_database(f"sqlite:///{tmp_path / 'm.db'}")
    )
    queue.publish(RESULTS, {"meta": b"{broken"}, 100)
    publish_frames(queue, 3)
    run_until(stage, lambda: queue.backlog(RESULTS) == 0)
    assert queue.backlog(DEAD_LETTER) == 1


@pytest.fixture()
def full_disk(tmp_path: Path):
    """A real 256 KiB filesystem filled to the last byte."""
    with small_disk(tmp_path / "small-disk", "256k") as disk:
        disk.fill()
        yield disk.mount, disk.filler


@pytest.mark.service
def test_full_snapshot_disk_holds_the_violation_until_space_returns(
    full_disk, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mount, filler = full_disk
    settings = settings_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path)
    settings = settings.model_copy(update={"snapshots": settings.snapshots.model_copy(update={"dir": mount / "snaps"})})
    queue = open_queue("memory://")
    stage = RecorderStage(settings, queue, open_database(settings.database.url))
    publish_frames(queue, 10)
    stopped = run_until(stage, lambda: False, timeout=2)
    assert isinstance(stopped, UnrecordedAtStop)  # stopping now would lose the batch: the stage fails instead
    assert "10 results unrecorded" in str(stopped) and "No space left on device" in str(stopped)
    assert queue.backlog(RESULTS) == 10  # nothing acknowledged, nothing lost
    assert any("No space left on device" in r.getMessage() for r in caplog.records)
    assert not list(mount.rglob("*.tmp"))  # no partial file left behind
    filler.unlink()
    assert run_until(stage, lambda: queue.backlog(RESULTS) == 0) is None
    engine = create_engine(settings.database.url)
    with Session(engine) as s:
        (v,) = s.scalars(select(Violation)).all()
        assert Path(v.snapshot_path).stat().st_size > 5000
    engine.dispose()


@pytest.fixture
def read_only_disk(tmp_path: Path):
    """A real filesystem mounted read-only, made writable on demand."""
    with small_disk(tmp_path / "ro-disk", "4m") as disk:
        disk.read_only(True)
        yield disk.mount, lambda: disk.read_only(False)


@pytest.mark.service
def test_read_only_snapshot_disk_holds_the_violation_until_writable(
    read_only_disk, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mount, make_writable = read_only_disk
    settings = settings_for(f"sqlite:///{tmp_path / 'r.db'}", tmp_path)
    settings = settings.model_copy(update={"snapshots": settings.snapshots.model_copy(update={"dir": mount / "snaps"})})
    queue = open_queue("memory://")
    stage = RecorderStage(settings, queue, open_database(settings.database.url))
    publish_frames(queue, 10)
    stopped = run_until(stage, lambda: False, timeout=2)  # the stage keeps retrying; it does not die
    assert isinstance(stopped, UnrecordedAtStop) and "Read-only file system" in str(stopped)
    assert queue.backlog(RESULTS) == 10
    assert any("snapshot disk unavailable" in r.getMessage() for r in caplog.records)
    outage = {"what": "recorder: snapshot disk"}
    assert REGISTRY.get_sample_value("maskwatch_outage", outage) == 1  # shown to monitoring meanwhile
    make_writable()
    assert run_until(stage, lambda: queue.backlog(RESULTS) == 0) is None
    assert REGISTRY.get_sample_value("maskwatch_outage", outage) == 0
    engine = create_engine(settings.database.url)
    with Session(engine) as s:
        (v,) = s.scalars(select(Violation)).all()
        assert Path(v.snapshot_path).is_file()
    engine.dispose()
