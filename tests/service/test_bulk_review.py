"""Deciding many violations at once: the list's form (CSRF, reviewers) and POST /api/violations/review
(reviewers; a session also sends the CSRF header). All or nothing: one unknown id changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from maskwatch.storage.db import create_db_engine
from maskwatch.storage.violations import get_violation
from tests.support.console import ConsoleServer, bearer, console_settings, csrf_of, login, running_console, seed


@pytest.fixture()
def console(database_url: str, tmp_path: Path) -> Iterator[ConsoleServer]:
    settings = console_settings(database_url, tmp_path)
    seed(settings)  # violations 1..7
    with running_console(settings) as server:
        yield server


def states(server: ConsoleServer, *ids: int) -> list[tuple[str, str | None, str | None]]:
    engine = create_db_engine(server.settings.database.url)
    try:
        found = [get_violation(engine, i) for i in ids]
    finally:
        engine.dispose()
    return [(v.review_state, v.review_label, v.reviewed_by) for v, _, _ in found]


def test_the_api_decides_many_in_one_call(console: ConsoleServer) -> None:
    with httpx.Client(base_url=console.url, timeout=10) as c:
        done = c.post(
            "/api/violations/review", json={"ids": [3, 1, 3], "state": "confirmed"}, headers=bearer("review-bot")
        )
        assert done.status_code == 200
        assert [(r["id"], r["review_state"], r["reviewed_by"]) for r in done.json()["reviewed"]] == [
            (1, "confirmed", "token:review-bot"),
            (3, "confirmed", "token:review-bot"),
        ]
        dismissed = c.post(
            "/api/violations/review", json={"ids": [4, 5], "state": "false_positive"}, headers=bearer("review-bot")
        )
        assert {r["review_label"] for r in dismissed.json()["reviewed"]} == {"with_mask"}
        history = c.get("/api/violations/4", headers=bearer("read-bot")).json()["reviews"]
        assert [(h["user"], h["state"]) for h in history] == [("token:review-bot", "false_positive")]
    assert states(console, 1, 2, 3) == [
        ("confirmed", "without_mask", "token:review-bot"),
        ("unreviewed", None, None),
        ("confirmed", "without_mask", "token:review-bot"),
    ]


def test_the_api_refuses_viewers_unknown_ids_and_empty_or_huge_lists(console: ConsoleServer) -> None:
    body = {"ids": [6, 7], "state": "confirmed"}
    with httpx.Client(base_url=console.url, timeout=10) as c:
        assert c.post("/api/violations/review", json=body).status_code == 401
        assert c.post("/api/violations/review", json=body, headers=bearer("read-bot")).status_code == 403
        unknown = c.post(
            "/api/violations/review", json={"ids": [6, 999, 1000], "state": "confirmed"}, headers=bearer("review-bot")
        )
        assert unknown.status_code == 422 and "999, 1000" in unknown.json()["detail"]
        assert "nothing was reviewed" in unknown.json()["detail"]
        for wrong in ({"ids": [], "state": "confirmed"}, {"ids": list(range(1, 502)), "state": "confirmed"},
                      {"ids": [6], "state": "maybe"}, {"ids": [0], "state": "confirmed"},
                      {"ids": [6], "state": "false_positive", "label": "without_mask"}):  # fmt: skip
            assert c.post("/api/violations/review", json=wrong, headers=bearer("review-bot")).status_code == 422, wrong
    assert states(console, 6, 7) == [("unreviewed", None, None)] * 2  # 6 was not reviewed alone


def test_a_session_needs_the_csrf_header_for_the_api(console: ConsoleServer) -> None:
    with login(console.url, "rita") as client:
        body = {"ids": [6], "state": "confirmed"}
        assert client.post("/api/violations/review", json=body).status_code == 403
        ok = client.post("/api/violations/review", json=body, headers={"X-CSRF-Token": csrf_of(client)})
        assert ok.status_code == 200
    assert states(console, 6) == [("confirmed", "without_mask", "rita")]


def test_the_lists_form_decides_the_ticked_ones_and_returns_to_the_same_list(console: ConsoleServer) -> None:
    with login(console.url, "rita") as client:
        form = {
            "csrf": csrf_of(client),
            "state": "false_positive",
            "ids": ["2", "5"],
            "listing": "state=unreviewed&camera=cam-1&evil=//x",
        }
        done = client.post("/violations/review", data=form)
        assert done.status_code == 303 and done.headers["location"] == "/violations?state=unreviewed&camera=cam-1"
        assert "2 violation(s) marked false positive." in client.get(done.headers["location"]).text
        assert "marked false positive" not in client.get("/violations").text  # said once
    assert [s[0] for s in states(console, 2, 5)] == ["false_positive"] * 2


def test_the_lists_form_is_for_reviewers_with_a_valid_form(console: ConsoleServer) -> None:
    with login(console.url, "victor") as viewer:
        refused = viewer.post("/violations/review", data={"csrf": csrf_of(viewer), "state": "confirmed", "ids": ["1"]})
        assert refused.status_code == 403 and "reviewer role" in refused.text
        assert 'id="bulk"' not in viewer.get("/violations").text
    with login(console.url, "rita") as client:
        forged = client.post("/violations/review", data={"csrf": "forged", "state": "confirmed", "ids": ["1"]})
        assert forged.status_code == 403 and "CSRF" in forged.text
        none = client.post("/violations/review", data={"csrf": csrf_of(client), "state": "confirmed"})
        assert none.status_code == 422 and "tick at least one violation" in none.text
        unknown = client.post(
            "/violations/review", data={"csrf": csrf_of(client), "state": "confirmed", "ids": ["1", "99"]}
        )
        assert unknown.status_code == 422 and "no violation with id 99" in unknown.text
        assert "text/html" in unknown.headers["content-type"]  # an error page, not JSON
    assert states(console, 1) == [("unreviewed", None, None)]


def test_reviewing_with_advance_opens_the_next_in_the_list(console: ConsoleServer) -> None:
    """The keyboard's c and x: decide, then the next violation of the same filtered list."""
    with login(console.url, "rita") as client:
        csrf = csrf_of(client)
        form = {"csrf": csrf, "state": "confirmed", "listing": "camera=cam-1", "advance": "1"}
        went = client.post("/violations/7/review", data=form)
        assert went.status_code == 303 and went.headers["location"] == "/violations/6?camera=cam-1"
        stay = client.post("/violations/6/review", data={**form, "advance": "0"})
        assert stay.headers["location"] == "/violations/6?camera=cam-1"
        last = client.post("/violations/1/review", data=form)  # the oldest: back to the list, told why
        assert last.headers["location"] == "/violations?camera=cam-1"
        assert "That was the last violation in this list." in client.get(last.headers["location"]).text
        page = client.get("/violations/6?camera=cam-1&state=unreviewed").text
        assert 'href="/violations/5?camera=cam-1&amp;state=unreviewed" id="next"' in page
        assert 'id="newer"' not in page  # 7 is confirmed: no longer in the unreviewed list
