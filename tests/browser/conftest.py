"""What the browser tests share: a headless Chromium, the screenshot folder, waiting for a page,
and logging in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.screenshots import BrowserMissing, chromium
from tests.support.console import PASSWORDS

SHOTS = Path(__file__).resolve().parents[2] / "runs" / "screenshots"


@pytest.fixture()
def browser() -> Iterator[Any]:
    try:
        with chromium() as drv:
            SHOTS.mkdir(parents=True, exist_ok=True)
            yield drv
    except BrowserMissing as exc:
        pytest.skip(str(exc))


def wait(drv: Any, condition: Any, timeout: float = 10) -> None:
    """Until `condition(driver)` holds; elements of the page being left may go stale meanwhile."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(drv, timeout, ignored_exceptions=[StaleElementReferenceException]).until(condition)


def log_in(drv: Any, url: str, user: str = "rita") -> None:
    from selenium.webdriver.common.by import By

    drv.get(f"{url}/login")
    drv.find_element(By.ID, "username").send_keys(user)
    drv.find_element(By.ID, "password").send_keys(PASSWORDS[user])
    drv.find_element(By.ID, "login").click()
    wait(drv, lambda d: d.current_url.endswith("/violations"))
