"""The camera grid and a camera's page in a real headless Chromium: a dead camera shows offline with
its reason, and live pictures refresh by themselves as the record stage writes new ones.
Screenshots go to runs/screenshots/ for a person to look at."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest
from sqlalchemy.orm import Session

from devtools.demo_media import DEMO_SCENES, render_scene
from maskwatch.messages import CameraHealth, FrameMessage, FrameResult
from maskwatch.storage.cameras import CameraStatus
from maskwatch.storage.db import create_db_engine
from maskwatch.storage.models import Camera
from maskwatch.storage.record.live import LivePictures
from tests.browser.conftest import SHOTS, log_in, wait
from tests.support.console import ENTRANCE_AREAS, ConsoleServer, console_settings, running_console, seed
from tests.support.results import MASKED, UNMASKED

pytestmark = [pytest.mark.browser, pytest.mark.service, pytest.mark.slow]

REFUSED = "camera cam-2 (rtsp://127.0.0.1/b): connection refused: is the camera on, and the port right?"


class Cameras:
    """The cameras as the record stage would leave them: their health, and their live pictures."""

    def __init__(self, server: ConsoleServer) -> None:
        self.settings = server.settings
        self.status = CameraStatus(server.settings)
        self.live = LivePictures(server.settings.snapshots.dir)
        self.scene = 0

    def health(self, camera_id: str, state: str, detail: str = "") -> None:
        engine = create_db_engine(self.settings.database.url)
        with Session(engine) as s, s.begin():
            cam = s.get(Camera, camera_id)
            assert cam is not None
            self.status.apply_health(s, cam, CameraHealth(camera_id, state, detail, 0, 0, time.time()))
        engine.dispose()

    def frames(self, camera_id: str, n: int = 2) -> None:
        """`n` new frames, half a second apart and just taken, each picture a little different."""
        now = time.time()
        for i in range(n):
            self.scene += 1
            jpeg = cv2.imencode(".jpg", render_scene(DEMO_SCENES["entrance"], seed=self.scene))[1].tobytes()
            at = now - 0.5 * (n - 1 - i)
            frame = FrameMessage(camera_id, self.scene, at, 1280, 720, jpeg)
            self.live.offer(FrameResult(frame, (MASKED, UNMASKED)))
        assert self.live.write_due() == 1


@pytest.fixture()
def console(postgres_url: str, tmp_path: Path) -> Iterator[ConsoleServer]:
    settings = console_settings(postgres_url, tmp_path, **ENTRANCE_AREAS)
    seed(settings)
    with running_console(settings) as server:
        yield server


def card(drv: Any, camera_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return drv.find_element(By.CSS_SELECTOR, f'#cameras [data-live-camera="{camera_id}"]')


def part(element: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return element.find_element(By.CSS_SELECTOR, selector)


def test_a_dead_camera_shows_offline_with_its_reason(browser: Any, console: ConsoleServer) -> None:
    cams = Cameras(console)
    cams.health("cam-2", "connecting")
    cams.health("cam-2", "offline", f"{REFUSED}; retry 3 in 2.0 s")
    cams.health("cam-2", "stopped", f"maskwatch stopped; the camera was offline: {REFUSED}")
    drv = browser
    log_in(drv, console.url, "victor")

    drv.get(f"{console.url}/cameras")
    dead = card(drv, "cam-2")
    badge = part(dead, ".cam-state")
    assert badge.text == "offline" and "offline" in badge.get_attribute("class").split()
    placeholder = part(dead, ".live-none")
    assert placeholder.is_displayed() and placeholder.text.startswith("Offline")  # the state (and how long)
    assert not part(dead, ".live-img").is_displayed()
    detail = part(dead, ".cam-detail").text  # and why, once, below it
    why = "connection refused: is the camera on, and the port right?"
    assert why in detail and "retry" not in detail and "cam-2 (" not in detail and why not in placeholder.text
    drv.save_screenshot(str(SHOTS / "cameras-1-dead.png"))

    drv.get(f"{console.url}/cameras/cam-2")
    status = part(drv, ".cam-status").text
    assert status == f"Offline: maskwatch stopped; the camera was offline: {why}"  # the camera named once, by the page
    assert "Streaming normally" not in drv.page_source
    reasons = [cell.text for cell in drv.find_elements("css selector", "#gaps td.why")]
    assert f"{why}; then maskwatch stopped" in reasons  # named once
    drv.save_screenshot(str(SHOTS / "cameras-2-dead-page.png"))


def test_live_pictures_refresh_by_themselves(browser: Any, console: ConsoleServer) -> None:
    cams = Cameras(console)
    cams.health("cam-1", "online")
    cams.frames("cam-1")
    drv = browser
    log_in(drv, console.url, "victor")

    drv.get(f"{console.url}/cameras")
    entrance = card(drv, "cam-1")
    picture = part(entrance, ".live-img")
    wait(drv, lambda d: picture.get_property("naturalWidth") == 1280)
    first = picture.get_attribute("src")
    assert "/cameras/cam-1/live.jpg?t=" in first and part(entrance, ".live-fps").text == "2.0 fps"
    assert part(entrance, ".live-age").text.endswith("s ago") and part(entrance, ".cam-state").text == "online"
    drv.save_screenshot(str(SHOTS / "cameras-3-live.png"))

    cams.frames("cam-1")  # the record stage writes a newer picture: the page takes it up by itself
    wait(drv, lambda d: picture.get_attribute("src") != first)
    wait(drv, lambda d: picture.get_property("complete") and picture.get_property("naturalWidth") == 1280)

    cams.health("cam-1", "offline", "connection refused; retry 1 in 0.5 s")  # and the camera goes down
    placeholder = part(entrance, ".live-none")
    wait(drv, lambda d: part(entrance, ".cam-state").text == "offline" and placeholder.is_displayed())
    assert placeholder.text.startswith("Offline") and not picture.is_displayed()
    assert part(entrance, ".cam-detail").text == "connection refused"  # without the retry schedule
    assert part(entrance, ".live-fps").text == ""
    drv.save_screenshot(str(SHOTS / "cameras-4-went-down.png"))

    # A camera's page: the live picture under its areas, refreshed too.
    cams.health("cam-1", "online")
    drv.get(f"{console.url}/cameras/cam-1")
    framed = part(drv, ".areas img")
    wait(drv, lambda d: framed.get_property("naturalWidth") == 1280)
    before = framed.get_attribute("src")
    assert "/cameras/cam-1/live.jpg?t=" in before
    assert len(drv.find_elements("css selector", ".areas polygon.watch, .areas polygon.ignore")) == 2
    assert part(drv, ".live-age").text.startswith("Live picture, ")
    cams.frames("cam-1")
    wait(drv, lambda d: framed.get_attribute("src") != before)
    drv.save_screenshot(str(SHOTS / "cameras-5-page-live.png"))
