"""Triage in a real headless Chromium: a reviewer works through a filtered list with the keyboard
(confirm, dismiss, next, previous), ticks violations on the list to decide them together, and sees
the context pictures of a violation. Every decision is read back from the database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.screenshots import record_walkers
from maskwatch.storage.db import create_db_engine
from maskwatch.storage.violations import get_violation
from tests.browser.conftest import SHOTS, log_in, wait
from tests.support.console import ConsoleServer, console_settings, running_console, seed

pytestmark = [pytest.mark.browser, pytest.mark.service, pytest.mark.slow]


@pytest.fixture()
def console(postgres_url: str, tmp_path: Path) -> Iterator[ConsoleServer]:
    settings = console_settings(postgres_url, tmp_path)
    seed(settings)  # 7 violations at the entrance, #2 mask_incorrect; 5 a page
    with running_console(settings) as server:
        yield server


def notice(drv: Any) -> str | None:
    """The notice on the page now, if any."""
    from selenium.webdriver.common.by import By

    found = drv.find_elements(By.ID, "notice")
    return str(found[0].text) if found else None


def shown_id(drv: Any) -> int:
    found = re.search(r"/violations/(\d+)", drv.current_url)
    assert found, drv.current_url
    return int(found.group(1))


def review_state(server: ConsoleServer, violation_id: int) -> str:
    engine = create_db_engine(server.settings.database.url)
    try:
        return get_violation(engine, violation_id)[0].review_state
    finally:
        engine.dispose()


def press(drv: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(drv).send_keys(key).perform()


def test_a_reviewer_triages_a_filtered_list_with_the_keyboard(browser: Any, console: ConsoleServer) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    drv = browser
    log_in(drv, console.url)
    drv.get(f"{console.url}/violations?state=unreviewed")
    order = [int(e.get_attribute("data-id")) for e in drv.find_elements(By.CSS_SELECTOR, "#violations .item")]
    assert len(order) == 5  # newest first, as the list shows them
    drv.find_elements(By.CSS_SELECTOR, "#violations .item a")[0].click()
    wait(drv, lambda d: shown_id(d) == order[0])
    assert "state=unreviewed" in drv.current_url  # the page knows which list it is in
    legend = drv.find_element(By.ID, "key-legend").text
    assert "confirm" in legend and "false positive" in legend and "next" in legend
    assert not drv.find_elements(By.ID, "newer")  # the first of the list has none before it
    shot = drv.find_element(By.ID, "snapshot")
    wait(drv, lambda d: shot.get_property("naturalWidth") > 0)
    drv.save_screenshot(str(SHOTS / "11-triage-keys.png"))

    press(drv, "c")  # confirm, and on to the next
    wait(drv, lambda d: shown_id(d) == order[1])
    assert review_state(console, order[0]) == "confirmed"
    assert "state=unreviewed" in drv.current_url

    press(drv, "x")  # a false positive, and on to the next
    wait(drv, lambda d: shown_id(d) == order[2])
    assert review_state(console, order[1]) == "false_positive"

    press(drv, "j")  # just move on: nothing recorded
    wait(drv, lambda d: shown_id(d) == order[3])
    assert review_state(console, order[2]) == "unreviewed"
    press(drv, "k")  # back: the violation before in the list of unreviewed ones
    wait(drv, lambda d: shown_id(d) == order[2])
    press(drv, Keys.ARROW_RIGHT)
    wait(drv, lambda d: shown_id(d) == order[3])
    press(drv, Keys.ARROW_LEFT)
    wait(drv, lambda d: shown_id(d) == order[2])
    assert not drv.find_elements(By.ID, "newer")  # the two reviewed ones have left the unreviewed list

    press(drv, "f")  # f dismisses too
    wait(drv, lambda d: shown_id(d) == order[3])
    assert review_state(console, order[2]) == "false_positive"
    press(drv, Keys.ESCAPE)  # back to the list, still filtered
    wait(drv, lambda d: "/violations?" in d.current_url and "state=unreviewed" in d.current_url)
    listed = [int(e.get_attribute("data-id")) for e in drv.find_elements(By.CSS_SELECTOR, "#violations .item")]
    assert order[0] not in listed and order[1] not in listed and order[2] not in listed
    assert listed[0] == order[3]


def test_next_and_previous_follow_the_lists_filter_and_end_at_its_ends(browser: Any, console: ConsoleServer) -> None:
    from selenium.webdriver.common.by import By

    drv = browser
    log_in(drv, console.url)
    drv.get(f"{console.url}/violations?camera=cam-1")
    first = int(drv.find_element(By.CSS_SELECTOR, "#violations .item").get_attribute("data-id"))
    drv.get(f"{console.url}/violations/{first}?camera=cam-1")
    seen = [first]
    while drv.find_elements(By.ID, "next"):
        drv.find_element(By.ID, "next").click()
        wait(drv, lambda d, before=seen[-1]: shown_id(d) != before)
        seen.append(shown_id(drv))
    assert len(seen) == 7 and len(set(seen)) == 7  # every violation of the camera, once each
    assert drv.find_element(By.ID, "last").text == "Last in this list"
    drv.find_element(By.ID, "newer").click()
    wait(drv, lambda d: shown_id(d) == seen[-2])
    # A list of one: nothing before or after it.
    drv.get(f"{console.url}/violations?label=mask_incorrect")
    drv.find_element(By.CSS_SELECTOR, "#violations .item a").click()
    wait(drv, lambda d: "/violations/2?" in d.current_url)
    assert not drv.find_elements(By.ID, "next") and not drv.find_elements(By.ID, "newer")


def test_bulk_confirm_and_dismiss_from_the_list(browser: Any, console: ConsoleServer) -> None:
    from selenium.webdriver.common.by import By

    drv = browser
    log_in(drv, console.url)
    drv.get(f"{console.url}/violations?state=unreviewed")
    confirm = drv.find_element(By.ID, "bulk-confirm")
    assert not confirm.is_enabled()  # nothing ticked yet
    items = drv.find_elements(By.CSS_SELECTOR, "#violations .item")
    ticked = [int(i.get_attribute("data-id")) for i in items[:2]]
    for item in items[:2]:
        item.find_element(By.CSS_SELECTOR, "input.pick").click()
    assert drv.find_element(By.ID, "selected-count").text == "2 of 5 selected"
    drv.save_screenshot(str(SHOTS / "12-bulk-ticked.png"))
    confirm.click()
    wait(drv, lambda d: notice(d) == "2 violation(s) marked confirmed.")
    assert "state=unreviewed" in drv.current_url
    assert [review_state(console, vid) for vid in ticked] == ["confirmed", "confirmed"]

    drv.find_element(By.ID, "select-all").click()
    page = [int(i.get_attribute("data-id")) for i in drv.find_elements(By.CSS_SELECTOR, "#violations .item")]
    assert len(page) == 5 and not set(page) & set(ticked)
    assert drv.find_element(By.ID, "selected-count").text == "5 of 5 selected"
    drv.find_element(By.ID, "bulk-dismiss").click()
    # The page before the click has a notice too: wait for the next page's, not the first seen.
    wait(drv, lambda d: notice(d) == "5 violation(s) marked false positive.")
    assert {review_state(console, vid) for vid in page} == {"false_positive"}
    assert "No violations match" in drv.page_source  # all 7 decided: the unreviewed list is empty


def test_viewers_get_no_boxes_to_tick(browser: Any, console: ConsoleServer) -> None:
    from selenium.webdriver.common.by import By

    drv = browser
    log_in(drv, console.url, "victor")
    assert not drv.find_elements(By.CSS_SELECTOR, "input.pick") and not drv.find_elements(By.ID, "bulk")
    drv.get(f"{console.url}/violations/1")
    assert "confirm" not in drv.find_element(By.ID, "key-legend").text  # only moving on


def test_the_violation_page_shows_the_context_strip(browser: Any, postgres_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    settings = console_settings(postgres_url, tmp_path)
    record_walkers(settings, "cam-1", n=1, sightings=5)
    with running_console(settings) as server:
        drv = browser
        log_in(drv, server.url)
        drv.get(f"{server.url}/violations/1")
        frames = drv.find_elements(By.CSS_SELECTOR, "#context .context-frame")
        assert len(frames) == 5
        drv.execute_script("arguments[0].scrollIntoView();", frames[0])
        wait(drv, lambda d: all(f.get_property("naturalWidth") > 0 for f in frames))  # served through the app
        assert {f.get_property("naturalWidth") for f in frames} == {240}
        captions = [c.text for c in drv.find_elements(By.CSS_SELECTOR, "#context figcaption")]
        assert all("No mask" in c for c in captions)
        drv.save_screenshot(str(SHOTS / "13-context-strip.png"))
        drv.set_window_size(390, 844)  # a phone: the strip scrolls inside its card, the page does not
        drv.refresh()
        wait(drv, lambda d: d.find_elements(By.CSS_SELECTOR, "#context .context-frame"))
        assert drv.execute_script("return document.documentElement.scrollWidth") <= 390
