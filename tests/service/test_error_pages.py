"""Errors on the console's pages come as pages in its layout, with a way back; the JSON API keeps
answering errors in JSON."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from maskwatch.storage.db import create_db_engine
from tests.support.console import ConsoleServer, bearer, console_settings, login, running_console, seed


@pytest.fixture()
def console(database_url: str, tmp_path: Path) -> Iterator[ConsoleServer]:
    settings = console_settings(database_url, tmp_path)
    seed(settings)
    with running_console(settings) as server:
        yield server


def is_page(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    body = response.text
    assert 'id="error"' in body and f'data-status="{status}"' in body
    assert 'href="/violations"' in body and '<link rel="stylesheet" href="/static/style.css">' in body
    for word in words:
        assert word in body, word


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/violations/999", 404, "no violation with id 999"),
        ("/violations/abc", 422, "violation_id: Input should be a valid integer"),
        ("/violations/0", 422, "greater than or equal to 1"),
        ("/violations?page=0", 422, "page: Input should be greater than or equal to 1"),
        ("/violations?since=yesterday", 422, "not a date: &#39;yesterday&#39; (use YYYY-MM-DD)"),
        ("/violations/1/image/secret", 404, "no picture"),
        ("/violations/1/context/7", 404, "context picture not available"),
        ("/cameras/nowhere", 404, "no camera"),
        ("/violations?camera=nowhere", 404, "No camera &#39;nowhere&#39; (cameras: "),
        ("/no/such/page", 404, "There is no such page in this console."),
    ],
)
def test_page_errors_are_pages_in_the_consoles_layout(
    console: ConsoleServer, path: str, status: int, says: str
) -> None:
    with login(console.url, "victor") as client:
        page = client.get(path)
        is_page(page, status, says)
        assert "victor" in page.text and 'href="/dashboard"' in page.text  # the navigation, as on every page
        assert page.headers["content-security-policy"].startswith("default-src 'none'")


def test_a_viewer_refused_a_review_gets_a_page(console: ConsoleServer) -> None:
    with login(console.url, "victor") as client:
        csrf = client.get("/violations/1").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        is_page(client.post("/violations/1/review", data={"csrf": csrf, "state": "confirmed"}), 403, "reviewer role")


def test_without_a_login_an_unknown_page_offers_the_login(console: ConsoleServer) -> None:
    with httpx.Client(base_url=console.url, timeout=10) as anonymous:
        page = anonymous.get("/no/such/page")
        is_page(page, 404, 'href="/login"')
        assert "Log out" not in page.text


def test_the_api_keeps_json_errors(console: ConsoleServer) -> None:
    with httpx.Client(base_url=console.url, headers=bearer("read-bot"), timeout=10) as c:
        for path, status in (("/api/violations/999", 404), ("/api/violations/abc", 422), ("/api/nothing", 404)):
            got = c.get(path)
            assert got.status_code == status and got.headers["content-type"] == "application/json", path
            assert "detail" in got.json()
    with httpx.Client(base_url=console.url, timeout=10) as anonymous:
        assert anonymous.get("/api/violations").json() == {"detail": "log in, or send Authorization: Bearer <token>"}


def test_a_crash_is_a_page_that_tells_nothing_of_the_code(console: ConsoleServer) -> None:
    engine = create_db_engine(console.settings.database.url)
    with engine.begin() as conn:  # a database the console cannot read: its pages fail
        conn.execute(text("ALTER TABLE violation_frames RENAME TO violation_frames_gone"))
    engine.dispose()
    with login(console.url, "rita") as client:
        page = client.get("/violations/1")
    is_page(page, 500, "its log has the details")
    assert "violation_frames" not in page.text and "Traceback" not in page.text
    # The server closes a connection after a crash: a new one for the API.
    with httpx.Client(base_url=console.url, headers=bearer("read-bot"), timeout=10) as c:
        api = c.get("/api/violations/1")
    assert api.status_code == 500 and api.json() == {"detail": "internal error; the console's log has the details"}


def test_the_compliance_address_leads_to_the_compliance_page(console: ConsoleServer) -> None:
    with login(console.url, "rita") as client:
        answer = client.get("/compliance?days=14", follow_redirects=False)
        assert answer.status_code == 307 and answer.headers["location"] == "/dashboard?days=14"
        assert client.get("/compliance", follow_redirects=True).status_code == 200
