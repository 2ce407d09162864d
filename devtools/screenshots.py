"""Screenshots of the review console for the README: `python -m devtools.screenshots [--out DIR]`.

A console over a throwaway SQLite database, seeded like the browser tests seed theirs but with
people who walk through the picture (so each violation has its context pictures), four weeks of
compliance counts (so the dashboard has a trend against the two weeks before), and camera health as
an operator would find it: two cameras streaming, with live pictures, and one that went offline
(connection refused). It is photographed by the headless Chromium the browser tests drive (Debian's
chromium and chromedriver), at desktop and phone width."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DESKTOP = (1280, 900)
PHONE = (390, 844)
# (file stem, path, what must have loaded first: a CSS selector of an element that is there once it has)
PAGES = (
    ("violations", "/violations", "#violations .thumb"),
    ("violation", "/violations/{violation}", "#context .context-frame"),
    ("dashboard", "/dashboard?days=14", ".chart canvas"),
    ("cameras", "/cameras", "main h1"),
    ("camera", "/cameras/cam-1", "main h1"),
)
MAX_PNG_BYTES = 100_000  # over this, a screenshot is cut to 256 colours (photos in it make it big)
# The third camera: configured, once streaming, now refused by the camera (its ingest retrying).
LOADING_BAY: dict[str, Any] = {"id": "cam-3", "name": "Loading bay", "url": "rtsp://10.0.4.23:554/stream1"}
REFUSED = "camera cam-3 (rtsp://10.0.4.23:554/stream1): connection refused: is the camera on, and the port right?"
DOWN_FOR = dt.timedelta(hours=2, minutes=40)
LIVE_SCENES = {"cam-1": "entrance", "cam-2": "hall"}  # the streaming cameras' pictures (devtools.demo_media)
LAST_SCENE = ("cam-3", "queue")  # the loading bay's last picture, from before it went down
SAMPLE_FPS = 2.0  # the cameras' default sampling rate: the frame rate their live pictures show


class BrowserMissing(RuntimeError):
    """Debian's chromium and chromedriver are not installed."""


@contextmanager
def chromium(width: int = DESKTOP[0], height: int = DESKTOP[1]) -> Iterator[Any]:
    """A headless Chromium under Selenium, never downloading anything (the browser tests use it too)."""
    browser, driver = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver")
    if not (Path(browser).exists() and driver):
        raise BrowserMissing(
            "Debian's chromium and chromium-driver are not installed (apt install chromium chromium-driver)"
        )
    os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager try to download a browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}"):
        options.add_argument(arg)
    drv = webdriver.Chrome(service=Service(driver), options=options)
    drv.set_window_size(width, height)  # the command line's size stops at a minimum width (500 px)
    drv.implicitly_wait(5)
    try:
        yield drv
    finally:
        drv.quit()


def record_walkers(
    settings: Any, camera_id: str = "cam-1", n: int = 3, start: float = 1_790_000_000.0, sightings: int = 5
) -> None:
    """`n` violations recorded by the real recorder, each of a person without a mask walking past a
    masked one over `sightings` frames half a second apart: every violation gets context pictures."""
    import cv2

    from devtools.demo_media import Person, render_scene
    from maskwatch.labels import WITH_MASK, WITHOUT_MASK
    from maskwatch.messages import FaceObservation, FrameMessage
    from maskwatch.storage.db import create_db_engine, upgrade
    from maskwatch.storage.record.recorder import Recorder
    from maskwatch.storage.record.tracking import BestShot, ViolationConfirmed
    from maskwatch.storage.snapshots import SnapshotStore

    engine = create_db_engine(settings.database.url)
    upgrade(engine)
    recorder = Recorder(settings, engine, SnapshotStore(settings.snapshots.dir))
    recorder.sync_cameras()
    events = []
    for i in range(n):
        shots = []
        for k in range(sightings):
            at = start + 60 * i + 0.5 * k
            x = 220 + 40 * k + 60 * (i % 3)
            scene = [Person(WITHOUT_MASK, 150, (x, 300)), Person(WITH_MASK, 140, (900, 280))]
            jpeg = cv2.imencode(".jpg", render_scene(scene, seed=i), [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
            face = FaceObservation(
                (x - 75.0, 225.0, x + 75.0, 375.0), WITHOUT_MASK, 0.8 + 0.03 * k, 0.95, {WITHOUT_MASK: 0.9}
            )
            bystander = (830.0, 210.0, 970.0, 350.0)
            shots.append(BestShot(FrameMessage(camera_id, 100 * i + k, at, 1280, 720, jpeg), face, (bystander,)))
        best = max(shots, key=lambda s: s.face.score)
        first, last = shots[0].frame.captured_at, shots[-1].frame.captured_at
        track = f"{camera_id}-walk-{round(start)}-{i}"
        events.append(
            ViolationConfirmed(camera_id, track, WITHOUT_MASK, best.face.score, first, last, best, tuple(shots))
        )
    recorder.write(events, [])
    engine.dispose()


def with_loading_bay(settings: Any) -> Any:
    """The console's settings with the third camera added to its configuration."""
    from maskwatch.config import CameraConfig

    return settings.model_copy(update={"cameras": [*settings.cameras, CameraConfig.model_validate(LOADING_BAY)]})


def seed_demo(settings: Any, now: dt.datetime | None = None) -> None:
    """The browser tests' data, walkers with context pictures, four weeks of people counts, and
    each camera's health and history."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from maskwatch.storage.db import create_db_engine
    from maskwatch.storage.models import EvaluationCount
    from tests.support.console import seed

    now = now or dt.datetime.now(dt.timezone.utc)
    seed(settings, now)
    record_walkers(settings, "cam-1", n=4, start=now.timestamp() - 3600)
    engine = create_db_engine(settings.database.url)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with Session(engine) as s, s.begin():
        counted = {(c.camera_id, c.hour): c for c in s.scalars(select(EvaluationCount))}
        # A busy morning at the entrance today, not just the seeded handful, so today's figure reads true.
        for (cam, hour), row in counted.items():
            if cam == "cam-1" and hour >= today:
                row.people += 60
        for day in range(1, 28):
            for cam, people in (("cam-1", 40 + 7 * (day % 5)), ("cam-2", 6 + day % 4), ("cam-3", 15 + 3 * (day % 3))):
                hour = today - dt.timedelta(days=day) + dt.timedelta(hours=10)
                if (cam, hour) not in counted:
                    s.add(EvaluationCount(camera_id=cam, hour=hour, people=people, violations=0, frames=people * 30))
    engine.dispose()
    report_health(settings, now)


def report_health(settings: Any, now: dt.datetime) -> None:
    """Camera health as the ingest watchdog reports it, written by the real recorder: every camera
    streaming since four weeks ago; the loading bay refused since DOWN_FOR ago, its ingest retrying."""
    from sqlalchemy.orm import Session

    from maskwatch.messages import CameraHealth
    from maskwatch.storage.db import create_db_engine
    from maskwatch.storage.models import CameraStatusEvent
    from maskwatch.storage.record.recorder import Recorder
    from maskwatch.storage.snapshots import SnapshotStore

    engine = create_db_engine(settings.database.url)
    started = now - dt.timedelta(days=28)
    with Session(engine) as s, s.begin():
        # The seed marks Platform 2 online by hand, so its older history goes in the same way.
        s.add(CameraStatusEvent(camera_id="cam-2", state="online", detail="", at=started))
    recorder = Recorder(settings, engine, SnapshotStore(settings.snapshots.dir))
    recorder.sync_cameras()
    frames = round((now - started).total_seconds() * SAMPLE_FPS)
    down = now - DOWN_FOR
    latest = time.time()  # after the seed's rows were written: an older report would be ignored
    reports = [
        CameraHealth("cam-1", "online", "", 0, 0, started.timestamp()),
        CameraHealth("cam-3", "online", "", 0, 0, started.timestamp()),
        CameraHealth("cam-3", "offline", f"{REFUSED}; retry 1 in 1.0 s", frames - 19_200, 3, down.timestamp()),
        CameraHealth("cam-1", "online", "", frames, 12, latest),
        CameraHealth("cam-2", "online", "", frames - 1_800, 0, latest),
        CameraHealth("cam-3", "offline", f"{REFUSED}; retry 41 in 30.0 s", frames - 19_200, 3, latest),
    ]
    recorder.write([], reports)
    engine.dispose()


def face_box(centre: tuple[int, int], height: int) -> tuple[float, float, float, float]:
    """The box the detector would find around a demo person's face."""
    x, y, half = centre[0], centre[1], height / 2
    return (x - half, y - half, x + half, y + half)


class LiveFeed:
    """The streaming cameras' live pictures, written the way the record stage writes them (into
    <snapshots>/@live/) and renewed before each page is photographed: the console shows a picture
    older than a few seconds as not live."""

    def __init__(self, snapshots: Path) -> None:
        import cv2

        from devtools.demo_media import DEMO_SCENES, render_scene
        from maskwatch.messages import FaceObservation

        self.snapshots = snapshots
        self.seq = 0
        self.pictures: dict[str, tuple[bytes, tuple[Any, ...]]] = {}
        for i, (cam, scene) in enumerate([*LIVE_SCENES.items(), LAST_SCENE]):
            people = DEMO_SCENES[scene]
            image = render_scene(people, seed=10 + i)
            jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
            faces = tuple(
                FaceObservation(face_box(p.centre, p.face_height), p.label, 0.9, 0.95, {p.label: 0.9}) for p in people
            )
            self.pictures[cam] = (jpeg, faces)

    def write(self, cameras: list[str], newest: float, frames: int = 5) -> None:
        """A few frames per camera at the sampling rate, the last taken at `newest`; each camera's
        newest is written."""
        from maskwatch.messages import FrameMessage, FrameResult
        from maskwatch.storage.record.live import LivePictures

        live = LivePictures(self.snapshots)  # afresh each time: its frame rate counts these frames only
        for cam in cameras:
            jpeg, faces = self.pictures[cam]
            for k in range(frames):
                self.seq += 1
                at = newest - (frames - 1 - k) / SAMPLE_FPS
                live.offer(FrameResult(FrameMessage(cam, self.seq, at, 1280, 720, jpeg), faces))
        live.write_due()

    def went_down(self, at: dt.datetime) -> None:
        """The loading bay's last picture, taken as it went down."""
        self.write([LAST_SCENE[0]], at.timestamp())

    def renew(self) -> None:
        """The streaming cameras' pictures, just taken."""
        self.write(list(LIVE_SCENES), time.time())


def small_png(png: bytes) -> bytes:
    """The screenshot with at most 256 colours where it is over MAX_PNG_BYTES (a UI has few)."""
    if len(png) <= MAX_PNG_BYTES:
        return png
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(256)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue() if out.tell() < len(png) else png


def log_in(drv: Any, url: str, user: str, password: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    drv.get(f"{url}/login")
    drv.find_element(By.ID, "username").send_keys(user)
    drv.find_element(By.ID, "password").send_keys(password)
    drv.find_element(By.ID, "login").click()
    WebDriverWait(drv, 10).until(lambda d: d.current_url.endswith("/violations"))


def shoot(drv: Any, url: str, out: Path, suffix: str, violation: int, feed: LiveFeed) -> list[Path]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    written = []
    for stem, path, ready in PAGES:
        feed.renew()
        drv.get(url + path.format(violation=violation))
        WebDriverWait(drv, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ready))  # noqa: B023 - waited on at once
        # Pictures load lazily: wait until every one in view has arrived.
        WebDriverWait(drv, 10).until(
            lambda d: d.execute_script(
                "return Array.from(document.images).every("
                "i => i.getBoundingClientRect().top > window.innerHeight || i.complete);"
            )
        )
        target = out / f"{stem}-{suffix}.png"
        target.write_bytes(small_png(drv.get_screenshot_as_png()))
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots", help="default: docs/screenshots")
    args = parser.parse_args(argv)
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from maskwatch.storage.db import create_db_engine
    from maskwatch.storage.models import Violation
    from tests.support.console import ENTRANCE_AREAS, PASSWORDS, console_settings, running_console

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="maskwatch-shots-") as tmp:
        settings = with_loading_bay(console_settings(f"sqlite:///{tmp}/console.db", Path(tmp), **ENTRANCE_AREAS))
        seed_demo(settings)
        feed = LiveFeed(settings.snapshots.dir)
        feed.went_down(dt.datetime.now(dt.timezone.utc) - DOWN_FOR)
        engine = create_db_engine(settings.database.url)
        with Session(engine) as s:
            newest = s.scalar(select(func.max(Violation.id)))
        engine.dispose()
        written: list[Path] = []
        try:
            with running_console(settings) as server:
                for suffix, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
                    with chromium(width, height) as drv:
                        log_in(drv, server.url, "rita", PASSWORDS["rita"])
                        written += shoot(drv, server.url, args.out, suffix, newest or 1, feed)
        except BrowserMissing as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    for path in written:
        print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
