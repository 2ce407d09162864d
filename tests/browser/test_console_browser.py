"""The console in a real headless Chromium (Debian's chromium + chromedriver, driven by
Selenium): log in, filter, open a violation and see its snapshot, dismiss it as a false
positive, watch the dashboard change, and be refused without a login. Screenshots go to
runs/screenshots/ for a person to look at."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from maskwatch.config import AreaConfig
from maskwatch.storage.db import create_db_engine
from maskwatch.storage.models import Camera, CameraStatusEvent
from tests.browser.conftest import SHOTS, wait
from tests.support.console import ENTRANCE_AREAS, PASSWORDS, ConsoleServer, console_settings, running_console, seed

pytestmark = [pytest.mark.browser, pytest.mark.service, pytest.mark.slow]


@pytest.fixture()
def console(postgres_url: str, tmp_path: Path) -> Iterator[ConsoleServer]:
    settings = console_settings(postgres_url, tmp_path, **ENTRANCE_AREAS)
    seed(settings)
    with running_console(settings) as server:
        yield server


def shot(drv: Any, name: str) -> None:
    drv.save_screenshot(str(SHOTS / f"{name}.png"))


def test_review_flow_in_a_real_browser(browser: Any, console: ConsoleServer) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    drv = browser
    drv.get(f"{console.url}/violations")
    assert "/login" in drv.current_url  # refused without a login
    shot(drv, "1-login")
    drv.find_element(By.ID, "username").send_keys("rita")
    drv.find_element(By.ID, "password").send_keys(PASSWORDS["rita"])
    drv.find_element(By.ID, "login").click()
    wait(drv, lambda d: d.current_url.endswith("/violations"))
    assert len(drv.find_elements(By.CSS_SELECTOR, "#violations .item")) == 5  # a page of 5 out of 7
    first_thumb = drv.find_element(By.CSS_SELECTOR, ".thumb")
    wait(drv, lambda d: first_thumb.get_property("naturalWidth") > 0)  # the face crop loaded
    shot(drv, "2-violations")

    Select(drv.find_element(By.ID, "f-label")).select_by_value("mask_incorrect")
    drv.find_element(By.ID, "apply").click()
    wait(drv, lambda d: "label=mask_incorrect" in d.current_url)
    items = drv.find_elements(By.CSS_SELECTOR, "#violations .item")
    assert len(items) == 1 and "Mask worn wrong" in items[0].text
    shot(drv, "3-filtered")

    drv.get(f"{console.url}/dashboard")
    entrance = drv.find_element(By.CSS_SELECTOR, '#totals tr[data-camera="cam-1"]')
    assert entrance.find_element(By.CLASS_NAME, "compliance").text == "65.0 %"
    assert entrance.find_element(By.CLASS_NAME, "violations").text == "7"
    # Before any pointer is over a chart, its legend gives the latest bar's values, never "--".
    plot = drv.find_element(By.CSS_SELECTOR, '.chart[data-camera="cam-1"] .plot')
    wait(drv, lambda d: plot.find_elements(By.CSS_SELECTOR, ".u-legend .u-value"))
    latest = json.loads(plot.get_attribute("data-chart"))
    percent = latest["compliance"][-1]
    assert [v.text for v in plot.find_elements(By.CSS_SELECTOR, ".u-legend .u-value")][1:] == [
        str(latest["people"][-1]),
        str(latest["violations"][-1]),
        "—" if percent is None else f"{percent:.1f} %",
    ]
    shot(drv, "4-dashboard-before")

    drv.get(f"{console.url}/violations")
    drv.find_elements(By.CSS_SELECTOR, "#violations .item a")[0].click()
    wait(drv, lambda d: "/violations/" in d.current_url)
    snapshot = drv.find_element(By.ID, "snapshot")
    wait(drv, lambda d: snapshot.get_property("naturalWidth") > 0)
    assert snapshot.get_property("naturalWidth") == 1280  # the annotated frame, served through the app
    assert drv.find_element(By.ID, "review-state").text == "Unreviewed"
    shot(drv, "5-violation")
    drv.find_element(By.ID, "false-positive").click()
    wait(drv, lambda d: d.find_element(By.ID, "review-state").text == "False positive")
    assert "False positive by rita" in drv.page_source
    shot(drv, "6-dismissed")

    drv.get(f"{console.url}/dashboard")
    entrance = drv.find_element(By.CSS_SELECTOR, '#totals tr[data-camera="cam-1"]')
    assert entrance.find_element(By.CLASS_NAME, "compliance").text == "70.0 %"
    assert entrance.find_element(By.CLASS_NAME, "dismissed").text == "1"
    shot(drv, "7-dashboard-after")

    drv.get(f"{console.url}/cameras/cam-2")
    assert "connection refused" in drv.page_source
    shot(drv, "8-camera")

    drv.get(f"{console.url}/cameras/cam-1")
    frame = drv.find_element(By.CSS_SELECTOR, ".areas img")
    wait(drv, lambda d: frame.get_property("naturalWidth") > 0)
    # The areas' drawing lies exactly over the picture, whatever width the page gives it.
    image_box, drawing_box = (
        drv.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.x, r.y, r.width, r.height];", e)
        for e in (frame, drv.find_element(By.CSS_SELECTOR, ".areas svg"))
    )
    assert drawing_box == pytest.approx(image_box, abs=0.5) and image_box[2] > 300
    assert len(drv.find_elements(By.CSS_SELECTOR, ".areas polygon.watch, .areas polygon.ignore")) == 2
    shot(drv, "8-camera-areas")

    # Drawing a new area: four corners clicked, the last one taken back; the line it gives is valid config.
    from selenium.webdriver.common.action_chains import ActionChains

    picture = drv.find_element(By.CSS_SELECTOR, ".areas")
    # Wholly in view: WebDriver's offsets start at the centre of an element's visible part.
    drv.execute_script("arguments[0].scrollIntoView({block: 'center'});", picture)
    width, height = image_box[2], image_box[3]
    clicks = [(0.2, 0.3), (0.6, 0.3), (0.6, 0.8), (0.1, 0.9)]
    for fx, fy in clicks:
        offset = round((fx - 0.5) * width), round((fy - 0.5) * height)  # from the picture's centre
        ActionChains(drv).move_to_element_with_offset(picture, *offset).click().perform()
    drv.find_element(By.ID, "area-undo").click()
    line = drv.find_element(By.ID, "area-yaml").text
    assert line.startswith("- {points: ")
    (drawn,) = yaml.safe_load(line)
    area = AreaConfig.model_validate(drawn)
    flat = [v for corner in area.corners for v in corner]
    assert flat == pytest.approx([v for corner in clicks[:3] for v in corner], abs=2 / height)
    assert len(drv.find_element(By.CSS_SELECTOR, ".areas polygon.draft").get_attribute("points").split()) == 3
    shot(drv, "8-camera-area-drawn")
    drv.find_element(By.ID, "area-clear").click()
    assert "0 of at least 3" in drv.find_element(By.ID, "area-yaml").text

    drv.find_element(By.CSS_SELECTOR, ".who button").click()  # log out
    wait(drv, lambda d: "/login" in d.current_url)
    drv.get(f"{console.url}/dashboard")
    assert "/login" in drv.current_url


def test_viewers_see_but_cannot_review(browser: Any, console: ConsoleServer) -> None:
    from selenium.webdriver.common.by import By

    drv = browser
    drv.get(f"{console.url}/login")
    drv.find_element(By.ID, "username").send_keys("victor")
    drv.find_element(By.ID, "password").send_keys(PASSWORDS["victor"])
    drv.find_element(By.ID, "login").click()
    wait(drv, lambda d: d.current_url.endswith("/violations"))
    drv.get(f"{console.url}/violations/1")
    assert not drv.find_elements(By.ID, "false-positive")
    assert "reviewing needs the reviewer role" in drv.page_source
    drv.set_window_size(390, 844)  # a phone
    drv.get(f"{console.url}/violations")
    shot(drv, "9-phone")


def test_the_dashboard_reads_on_a_phone(browser: Any, console: ConsoleServer) -> None:
    """390 px wide: the site figure, a chart drawn per camera that counted anyone, and the table, with
    each camera's time not watched, without sideways scrolling; the period picked is the one shown."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    never_connected(console, "cam-3", "Loading bay")
    drv = browser
    drv.set_window_size(390, 844)
    drv.get(f"{console.url}/login")
    drv.find_element(By.ID, "username").send_keys("victor")
    drv.find_element(By.ID, "password").send_keys(PASSWORDS["victor"])
    drv.find_element(By.ID, "login").click()
    wait(drv, lambda d: d.current_url.endswith("/violations"))
    drv.get(f"{console.url}/dashboard")
    wait(drv, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".chart canvas")) == 2)  # uPlot drew both cameras
    assert drv.execute_script("return window.innerWidth") == 390
    assert drv.execute_script("return document.documentElement.scrollWidth") <= 390
    table = drv.find_element(By.ID, "totals")
    assert table.rect["x"] >= 0 and table.rect["x"] + table.rect["width"] <= 390
    for cell in table.find_elements(By.CSS_SELECTOR, "th, td"):
        assert cell.rect["x"] >= table.rect["x"] and cell.rect["x"] + cell.rect["width"] <= 390, cell.text
    unwatched = {
        row.get_attribute("data-camera"): row.find_element(By.CLASS_NAME, "not-watched").text
        for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    }
    assert unwatched == {"cam-1": "—", "cam-2": "15 min", "cam-3": "7 d"}  # the seeded outage; the whole week
    dead = table.find_element(By.CSS_SELECTOR, 'tr[data-camera="cam-3"]')
    assert "never connected" in dead.find_element(By.CLASS_NAME, "name").text
    assert [dead.find_element(By.CLASS_NAME, c).text for c in ("people", "compliance")] == ["0", "—"]
    assert not drv.find_elements(By.CSS_SELECTOR, '.chart[data-camera="cam-3"]')  # no chart of empty bars
    assert Select(drv.find_element(By.ID, "period")).first_selected_option.text == "Last 7 days"
    assert drv.find_element(By.ID, "site-compliance").text == "78.1 %"  # (32 - 7) of 32 people, both cameras
    canvas = drv.find_element(By.CSS_SELECTOR, '.chart[data-camera="cam-1"] canvas')
    assert 0 < canvas.rect["width"] <= 390 and canvas.rect["height"] > 100
    # The chart has drawn something: its pixels are not all one colour.
    colours = drv.execute_script(
        "const c = arguments[0]; const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "const seen = new Set();"
        "for (let i = 0; i < d.length; i += 4 * 97) seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);"
        "return seen.size;",
        canvas,
    )
    assert colours > 3
    shot(drv, "10-dashboard-phone")
    for days, said in ((14, "Last 14 days"), (10, "Last 10 days"), (1, "Last day")):
        drv.get(f"{console.url}/dashboard?days={days}")
        period = Select(drv.find_element(By.ID, "period"))
        assert period.first_selected_option.text == said and period.first_selected_option.get_attribute("value") == str(
            days
        )
        assert f"{said.lower()}" in drv.find_element(By.ID, "site").text
        assert drv.execute_script("return document.documentElement.scrollWidth") <= 390
    drv.get(f"{console.url}/dashboard?days=14&bucket=hour")  # more hourly bars than a chart holds
    assert Select(drv.find_element(By.ID, "bucket")).first_selected_option.text == "per day"
    assert "need a period of 2 days at most" in drv.find_element(By.ID, "bucket-note").text


def never_connected(server: ConsoleServer, camera_id: str, name: str) -> None:
    """A camera maskwatch has tried to watch for a month, refused every time."""
    engine = create_db_engine(server.settings.database.url)
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)
    with Session(engine) as s, s.begin():
        s.add(Camera(id=camera_id, name=name, url="rtsp://127.0.0.1/c", state="offline", detail="connection refused"))
        s.flush()
        s.add(CameraStatusEvent(camera_id=camera_id, state="offline", detail="connection refused", at=since))
    engine.dispose()
