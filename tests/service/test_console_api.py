"""The console's JSON API and pages over HTTP, on SQLite and a real Postgres."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from maskwatch.storage.db import create_db_engine
from maskwatch.storage.violations import get_violation
from tests.support.console import (
    ENTRANCE_AREAS,
    PASSWORDS,
    ConsoleServer,
    bearer,
    console_settings,
    login,
    running_console,
    seed,
)


@pytest.fixture()
def console(database_url: str, tmp_path: Path) -> Iterator[ConsoleServer]:
    settings = console_settings(database_url, tmp_path)
    seed(settings)
    with running_console(settings) as server:
        yield server


def test_everything_needs_a_login(console: ConsoleServer) -> None:
    with httpx.Client(base_url=console.url, timeout=10) as anon:
        assert anon.get("/api/violations").status_code == 401
        assert anon.get("/api/violations", headers={"Authorization": "Bearer wrong-token-000000"}).status_code == 401
        for page in ("/violations", "/violations/1", "/violations/1/image/frame", "/dashboard", "/cameras"):
            r = anon.get(page)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), page


def test_login_refuses_wrong_passwords_and_forged_forms(console: ConsoleServer) -> None:
    with httpx.Client(base_url=console.url, timeout=10) as c:
        assert (
            c.post("/login", data={"username": "rita", "password": PASSWORDS["rita"], "csrf": "x"}).status_code == 403
        )
        csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
        assert csrf is not None
        wrong = c.post("/login", data={"username": "rita", "password": "nope", "csrf": csrf.group(1)})
        assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
        assert c.get("/violations").status_code == 303


def test_list_filters_and_pages(console: ConsoleServer) -> None:
    with httpx.Client(base_url=console.url, headers=bearer("read-bot"), timeout=10) as c:
        first = c.get("/api/violations").json()
        assert first["total"] == 7 and len(first["items"]) == 5  # page_size 5
        second = c.get("/api/violations", params={"page": 2}).json()
        assert len(second["items"]) == 2
        ids = [v["id"] for v in first["items"] + second["items"]]
        assert sorted(ids) == list(range(1, 8))
        assert c.get("/api/violations", params={"label": "mask_incorrect"}).json()["total"] == 1
        assert c.get("/api/violations", params={"camera": "cam-2"}).json()["total"] == 0
        # A mistyped camera is an error naming the cameras, not an empty list that reads as compliance.
        for path, extra in (("/api/violations", {}), ("/api/stats", {"since": "2000-01-01T00:00:00Z"})):
            wrong = c.get(path, params={"camera": "cam-9", **extra})
            assert wrong.status_code == 404 and "no camera 'cam-9' (cameras: cam-1" in wrong.json()["detail"]
        assert c.get("/api/violations", params={"state": "unreviewed"}).json()["total"] == 7
        assert c.get("/api/violations", params={"since": "2000-01-01T00:00:00"}).json()["total"] == 7  # naive: UTC
        assert c.get("/api/violations", params={"until": "2000-01-01T00:00:00Z"}).json()["total"] == 0
        one = c.get("/api/violations/3").json()
        assert one["camera_name"] == "Entrance" and one["snapshot_url"] == "/violations/3/image/frame"
        assert "snapshot_path" not in one  # no file system paths through the API
        assert c.get("/api/violations/999").status_code == 404


def test_reviews_need_the_reviewer_role_and_change_the_stats(console: ConsoleServer) -> None:
    since = {"since": "2000-01-01T00:00:00Z"}
    with httpx.Client(base_url=console.url, timeout=10) as c:
        before = c.get("/api/stats", params=since, headers=bearer("read-bot")).json()["totals"]
        entrance = next(t for t in before if t["camera_id"] == "cam-1")
        assert (entrance["people"], entrance["violations"], entrance["compliance"]) == (20, 7, 0.65)
        denied = c.post("/api/violations/4/review", json={"state": "false_positive"}, headers=bearer("read-bot"))
        assert denied.status_code == 403
        done = c.post("/api/violations/4/review", json={"state": "false_positive"}, headers=bearer("review-bot"))
        assert done.json() == {
            "id": 4,
            "review_state": "false_positive",
            "review_label": "with_mask",
            "reviewed_by": "token:review-bot",
        }
        bad = c.post("/api/violations/4/review", json={"state": "maybe"}, headers=bearer("review-bot"))
        assert bad.status_code == 422
        after = c.get("/api/stats", params=since, headers=bearer("read-bot")).json()["totals"]
        entrance = next(t for t in after if t["camera_id"] == "cam-1")
        assert (entrance["violations"], entrance["false_positives"], entrance["compliance"]) == (6, 1, 0.7)
        history = c.get("/api/violations/4", headers=bearer("read-bot")).json()["reviews"]
        assert [(h["user"], h["state"]) for h in history] == [("token:review-bot", "false_positive")]


def test_session_api_posts_need_the_csrf_header(console: ConsoleServer) -> None:
    with login(console.url, "rita") as client:
        assert client.post("/api/violations/5/review", json={"state": "confirmed"}).status_code == 403
        page = client.get("/violations/5")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        ok = client.post(
            "/api/violations/5/review", json={"state": "confirmed"}, headers={"X-CSRF-Token": csrf.group(1)}
        )
        assert ok.status_code == 200 and ok.json()["review_label"] == "without_mask"


def test_snapshots_are_served_only_for_known_violations(console: ConsoleServer) -> None:
    with login(console.url, "victor") as client:
        frame = client.get("/violations/1/image/frame")
        assert (
            frame.status_code == 200
            and frame.headers["content-type"] == "image/jpeg"
            and frame.content[:2] == b"\xff\xd8"
        )
        for probe in (
            "/violations/1/image/..%2F..%2Fetc%2Fpasswd",
            "/violations/1/image/secret",
            "/violations/99/image/frame",
        ):
            assert client.get(probe).status_code == 404, probe


def test_camera_page_draws_its_areas_over_its_latest_snapshot(database_url: str, tmp_path: Path) -> None:
    settings = console_settings(database_url, tmp_path, **ENTRANCE_AREAS)
    seed(settings)
    with running_console(settings) as server, login(server.url, "victor") as client:
        page = client.get("/cameras/cam-1").text
        assert '<polygon class="watch" points="0.0000,0.1500 0.4500,0.1500 0.7000,1.0000 0.0000,1.0000"/>' in page
        assert '<polygon class="ignore" points="0.4500,0.1500 0.5500,0.1500 0.5500,0.4000 0.4500,0.4000"/>' in page
        assert '<img src="/violations/7/image/frame"' in page and "Faces count only with their centre" in page
        assert client.get("/violations/7/image/frame").status_code == 200
        other = client.get("/cameras/cam-2").text  # no areas, no violations
        assert "<polygon" not in other and "The whole picture is watched" in other and "No snapshot yet" in other
        # A snapshot deleted by hand: the page falls back to the camera's previous violation.
        Path(get_violation(create_db_engine(settings.database.url), 7)[0].snapshot_path).unlink()
        assert client.get("/violations/7/image/frame").status_code == 404
        assert '<img src="/violations/6/image/frame"' in client.get("/cameras/cam-1").text


def test_cameras_and_openapi(console: ConsoleServer) -> None:
    with httpx.Client(base_url=console.url, headers=bearer("read-bot"), timeout=10) as c:
        cams = {cam["id"]: cam for cam in c.get("/api/cameras").json()}
        assert set(cams) == {"cam-1", "cam-2"}
        spec = c.get("/api/openapi.json").json()
        assert {
            "/api/violations",
            "/api/violations/{violation_id}",
            "/api/violations/{violation_id}/review",
            "/api/violations/review",
            "/api/stats",
            "/api/cameras",
        } <= set(spec["paths"])
