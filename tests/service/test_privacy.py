"""Privacy by default: snapshots show only the violator's face; an operator can erase a camera's
violations of a time range, pictures and alerts included, for a person's request."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from devtools.screenshots import record_walkers
from maskwatch.app.cli import main
from maskwatch.config import Settings, parse_settings
from maskwatch.queue import open_queue
from maskwatch.storage.db import create_db_engine, open_database
from maskwatch.storage.models import OutboxAlert, Violation, ViolationFrame
from maskwatch.storage.record.stage import RecorderStage
from maskwatch.storage.snapshots import original_of
from maskwatch.streams import RESULTS
from tests.support.console import console_settings, login, running_console
from tests.support.factories import record_violations
from tests.support.pictures import detail
from tests.support.results import JPEG, MASKED, UNMASKED, publish_frames


def settings_for(database_url: str, tmp_path: Path, keep_original: bool = False) -> Settings:
    return parse_settings(
        {
            "cameras": [
                {"id": "cam-1", "name": "Entrance", "url": "rtsp://127.0.0.1/x"},
                {"id": "cam-2", "name": "Exit", "url": "rtsp://127.0.0.1/y"},
            ],
            "database": {"url": database_url},
            "snapshots": {"dir": str(tmp_path / "snaps"), "keep_original": keep_original},
            "alerts": {"webhooks": [{"url": "http://127.0.0.1:1/hook"}]},
        }
    )


def record(settings: Settings) -> Violation:
    """The masked and the unmasked face of `publish_frames`, recorded by the real record stage."""
    import threading
    import time

    queue = open_queue("memory://")
    engine = open_database(settings.database.url)
    stage = RecorderStage(settings, queue, engine)
    publish_frames(queue, 10)
    stop = threading.Event()
    thread = threading.Thread(target=stage.run, args=(stop, 100), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while queue.backlog(RESULTS) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    with Session(engine) as s:
        (v,) = s.scalars(select(Violation)).all()
    engine.dispose()
    return v


def _scene() -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(JPEG, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


SCENE = _scene()


def read(path: str | Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, path
    return image


def test_a_snapshot_blurs_everyone_but_the_violator(database_url: str, tmp_path: Path) -> None:
    v = record(settings_for(database_url, tmp_path))
    original = SCENE
    shot = read(v.snapshot_path)
    assert detail(original, MASKED.box) > 50  # the bystander's face has detail to hide
    assert detail(shot, MASKED.box) < detail(original, MASKED.box) / 10  # and it is hidden
    assert detail(shot, UNMASKED.box) > detail(original, UNMASKED.box) / 2  # the violator is shown
    assert not original_of(v.snapshot_path).exists()  # no unblurred copy unless asked for


def test_keep_original_keeps_an_unblurred_copy_that_erasure_removes(database_url: str, tmp_path: Path) -> None:
    settings = settings_for(database_url, tmp_path, keep_original=True)
    v = record(settings)
    kept = read(original_of(v.snapshot_path))
    original = SCENE
    assert detail(kept, MASKED.box) > detail(original, MASKED.box) / 2
    cfg = tmp_path / "m.yaml"
    cfg.write_text(f"database: {{url: '{database_url}'}}\n")
    assert main(["privacy", "erase", "--config", str(cfg), "--camera", "cam-1", "--from", "2026-01-01T00:00:00",
                 "--to", "2027-01-01T00:00:00", "--yes"]) == 0  # fmt: skip
    assert not original_of(v.snapshot_path).exists() and not Path(v.snapshot_path).exists()


def test_privacy_erase_removes_one_cameras_range_and_nothing_else(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(database_url, tmp_path)
    start = dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc).timestamp()
    record_violations(settings, n=4, camera_id="cam-1", start=start)  # 12:00:00 .. 12:00:03
    record_violations(settings, n=2, camera_id="cam-2", start=start)
    cfg = tmp_path / "m.yaml"
    cfg.write_text(f"database: {{url: '{database_url}'}}\n")
    erase = ["privacy", "erase", "--config", str(cfg), "--camera", "cam-1"]
    window = ["--from", "2026-06-01T12:00:01Z", "--to", "2026-06-01T12:00:03Z"]  # the 2nd and 3rd

    assert main([*erase, *window]) == 0  # without --yes: says what would go, removes nothing
    assert "would erase 2 violation(s)" in capsys.readouterr().out
    engine = create_db_engine(database_url)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Violation)) == 6
        doomed = s.scalars(select(Violation).where(Violation.track_id.in_(["cam-1-1", "cam-1-2"]))).all()
    files = [Path(p) for v in doomed for p in (v.snapshot_path, v.crop_path)]
    assert all(p.is_file() for p in files)

    assert main([*erase, *window, "--yes"]) == 0
    said = capsys.readouterr().out
    assert "erased 2 violation(s)" in said and "2 unsent alert(s)" in said  # their webhooks had not gone yet
    with Session(engine) as s:
        left = sorted(s.scalars(select(Violation.track_id)).all())
        alerts = s.scalars(select(OutboxAlert.violation_id)).all()
    engine.dispose()
    assert left == ["cam-1-0", "cam-1-3", "cam-2-0", "cam-2-1"]
    assert not any(p.exists() for p in files)
    assert None not in alerts and len(alerts) == 4  # the erased violations' alerts went with them


def test_privacy_erase_refuses_an_empty_range(tmp_path: Path, database_url: str) -> None:
    open_database(database_url).dispose()
    cfg = tmp_path / "m.yaml"
    cfg.write_text(f"database: {{url: '{database_url}'}}\n")
    args = ["--camera", "cam-1", "--from", "2026-06-02T00:00:00Z", "--to", "2026-06-01T00:00:00Z"]
    assert main(["privacy", "erase", "--config", str(cfg), *args]) == 2


def faces_granted(settings: Settings, user: str) -> Settings:
    users = [u.model_copy(update={"faces": True}) if u.name == user else u for u in settings.web.users]
    return settings.model_copy(update={"web": settings.web.model_copy(update={"users": users})})


def fetched(client: httpx.Client, path: str) -> np.ndarray:
    got = client.get(path)
    assert got.status_code == 200, got.text
    image = cv2.imdecode(np.frombuffer(got.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


@pytest.mark.attack("see a violator's face as a viewer", expected="blurred unless granted; every opening logged")
def test_a_viewer_sees_faces_blurred_and_every_opening_is_logged(database_url: str, tmp_path: Path) -> None:
    settings = console_settings(database_url, tmp_path)
    record_violations(settings, n=1)
    with running_console(settings) as server:
        with login(server.url, "victor") as viewer:
            crop = fetched(viewer, "/violations/1/image/crop")
            fetched(viewer, "/violations/1/image/frame")
            assert "Who opened these pictures" not in viewer.get("/violations/1").text  # reviewers only
        with login(server.url, "rita") as reviewer:
            sharp = fetched(reviewer, "/violations/1/image/crop")
            page = reviewer.get("/violations/1").text
    whole = (0.0, 0.0, float(sharp.shape[1]), float(sharp.shape[0]))
    assert detail(crop, whole) < detail(sharp, whole) / 10  # the viewer's copy hides the face
    log = page[page.index("Who opened these pictures") :]
    assert "victor: face crop (blurred)" in log and "victor: frame (blurred)" in log
    assert "rita: face crop" in log and "rita: face crop (blurred)" not in log

    with running_console(faces_granted(settings, "victor")) as server, login(server.url, "victor") as viewer:
        granted = fetched(viewer, "/violations/1/image/crop")
    assert detail(granted, whole) > detail(sharp, whole) / 2  # web.users[].faces: true shows it


def test_context_pictures_are_erased_with_their_violation_and_kept_until_then(
    database_url: str, tmp_path: Path
) -> None:
    """`privacy erase` removes the context pictures (files and rows) with the rest; retention's sweep
    for orphaned files leaves the pictures of violations still kept alone."""
    from maskwatch.storage.jobs import remove_orphans

    settings = settings_for(database_url, tmp_path)
    start = dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc).timestamp()
    record_walkers(settings, "cam-1", n=2, start=start, sightings=4)  # 12:00:00 and 12:01:00
    engine = create_db_engine(database_url)
    with Session(engine) as s:
        frames = {vid: path for vid, path in s.execute(select(ViolationFrame.violation_id, ViolationFrame.path))}
        pictures = [Path(p) for p in s.scalars(select(ViolationFrame.path))]
    assert len(pictures) == 8 and all(p.is_file() for p in pictures) and len(frames) == 2

    far_future = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)  # every file counts as old enough
    assert remove_orphans(engine, settings.snapshots.dir.resolve(), far_future) == 0
    assert all(p.is_file() for p in pictures)

    cfg = tmp_path / "m.yaml"
    cfg.write_text(f"database: {{url: '{database_url}'}}\n")
    window = ["--from", "2026-06-01T12:00:00Z", "--to", "2026-06-01T12:00:30Z"]  # the first one only
    assert main(["privacy", "erase", "--config", str(cfg), "--camera", "cam-1", *window, "--yes"]) == 0
    with Session(engine) as s:
        (kept,) = s.scalars(select(Violation)).all()
        left = [Path(p) for p in s.scalars(select(ViolationFrame.path))]
        assert {f.violation_id for f in s.scalars(select(ViolationFrame))} == {kept.id}
    engine.dispose()
    assert len(left) == 4 and all(p.is_file() for p in left)
    assert [p for p in pictures if p.exists()] == left  # the erased violation's 4 pictures are gone


@pytest.mark.attack("see a violator's face in the context pictures as a viewer", expected="blurred like the snapshot")
def test_context_pictures_are_blurred_for_viewers_like_the_snapshot(database_url: str, tmp_path: Path) -> None:
    settings = console_settings(database_url, tmp_path)
    record_walkers(settings, "cam-1", n=1, sightings=3)
    with running_console(settings) as server:
        with login(server.url, "victor") as viewer:
            blurred = fetched(viewer, "/violations/1/context/1")
            assert viewer.get("/violations/1/context/3").status_code == 404  # only 3 were kept
        with login(server.url, "rita") as reviewer:
            sharp = fetched(reviewer, "/violations/1/context/1")
            page = reviewer.get("/violations/1").text
            api = reviewer.get("/api/violations/1").json()
    engine = create_db_engine(database_url)
    with Session(engine) as s:
        frame = s.scalars(select(ViolationFrame).where(ViolationFrame.position == 1)).one()
    engine.dispose()
    x1, y1, x2, y2 = frame.box
    face = (x1, y1, x2, y2)
    assert blurred.shape == sharp.shape
    assert detail(blurred, face) < detail(sharp, face) / 10  # the viewer's copy hides the face
    assert [c["url"] for c in api["context"]] == [f"/violations/1/context/{i}" for i in range(3)]
    log = page[page.index("Who opened these pictures") :]
    assert "victor: context pictures (blurred)" in log and "rita: context pictures" in log
