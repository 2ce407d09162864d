"""A real console server for the tests: uvicorn on 127.0.0.1 over a seeded database."""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from maskwatch.config import Settings, WebConfig, parse_settings
from maskwatch.console.app import create_app
from maskwatch.console.auth import hash_password
from maskwatch.storage.db import create_db_engine, upgrade
from maskwatch.storage.models import Camera, CameraStatusEvent, EvaluationCount, Violation
from tests.support.factories import record_violations

PASSWORDS = {"rita": "reviewer-pass-1", "victor": "viewer-pass-1"}
# A polygon over the stairs and a rectangle over a screen, for the pages that draw a camera's areas.
ENTRANCE_AREAS: dict[str, Any] = {
    "watch_areas": [{"points": [[0, 0.15], [0.45, 0.15], [0.7, 1], [0, 1]]}],
    "ignore_areas": [{"x1": 0.45, "y1": 0.15, "x2": 0.55, "y2": 0.4}],
}
TOKENS = {"review-bot": "review-token-0123456789", "read-bot": "viewer-token-0123456789"}


@dataclass
class ConsoleServer:
    url: str
    settings: Settings


def console_settings(database_url: str, tmp_path: Path, **entrance: Any) -> Settings:
    """`entrance`: more settings of camera cam-1, such as its areas."""
    return parse_settings(
        {
            "cameras": [
                {"id": "cam-1", "name": "Entrance", "url": "rtsp://127.0.0.1/a", **entrance},
                {"id": "cam-2", "name": "Platform 2", "url": "rtsp://127.0.0.1/b"},
            ],
            "database": {"url": database_url},
            "snapshots": {"dir": str(tmp_path / "snaps")},
            "web": {
                "session_secret": "test-session-secret-0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                "page_size": 5,
                "users": [
                    {"name": "rita", "password_hash": hash_password(PASSWORDS["rita"]), "role": "reviewer"},
                    {"name": "victor", "password_hash": hash_password(PASSWORDS["victor"]), "role": "viewer"},
                ],
                "api_tokens": [
                    {"name": "review-bot", "token": TOKENS["review-bot"], "role": "reviewer"},
                    {"name": "read-bot", "token": TOKENS["read-bot"], "role": "viewer"},
                ],
            },
        }
    )


def seed(settings: Settings, now: dt.datetime | None = None) -> None:
    """7 violations at the entrance (recorded like the recorder does), people counts, an outage; 2 h before `now`."""
    now = now or dt.datetime.now(dt.timezone.utc)
    record_violations(settings, n=7, camera_id="cam-1", start=now.timestamp() - 7200)
    engine = create_db_engine(settings.database.url)
    hour = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=2)
    with Session(engine) as s, s.begin():
        if s.get(Camera, "cam-2") is None:
            s.add(Camera(id="cam-2", name="Platform 2", url="rtsp://127.0.0.1/b", state="online"))
        s.flush()
        # The recorder counted the violations; the people evaluated at the entrance are 20.
        rows = list(s.scalars(select(EvaluationCount).where(EvaluationCount.camera_id == "cam-1")))
        for i, row in enumerate(rows):
            row.people = 20 if i == 0 else 0
        s.add(EvaluationCount(camera_id="cam-2", hour=hour, people=12, violations=0, frames=500))
        down = hour + dt.timedelta(minutes=10)
        s.add(CameraStatusEvent(camera_id="cam-2", state="offline", detail="connection refused", at=down))
        s.add(CameraStatusEvent(camera_id="cam-2", state="online", detail="", at=down + dt.timedelta(minutes=15)))
        s.execute(update(Violation).where(Violation.id == 2).values(label="mask_incorrect"))
    engine.dispose()


@contextmanager
def running_console(settings: Settings) -> Iterator[ConsoleServer]:
    engine = create_db_engine(settings.database.url)
    upgrade(engine)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "console did not start"
        time.sleep(0.05)
    try:
        yield ConsoleServer(f"http://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        thread.join(10)
        engine.dispose()


def bearer(name: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


@contextmanager
def login(url: str, user: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=10) as client:
        page = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        done = client.post("/login", data={"username": user, "password": PASSWORDS[user], "csrf": csrf.group(1)})
        assert done.status_code == 303 and done.headers["location"] == "/violations"
        yield client


# A console row: the same cells on the dashboard and on a camera's page.
ROW = re.compile(
    r'<tr data-camera="(?P<camera>[^"]+)">.*?<td class="people">(?P<people>\d+)</td>'
    r'<td class="violations">(?P<violations>\d+)</td><td class="dismissed">(?P<dismissed>\d+)</td>\s*'
    r'<td class="compliance">(?P<compliance>[^<]*)</td>',
    re.S,
)


def shown(html: str) -> dict[str, tuple[int, int, int, str]]:
    return {
        m["camera"]: (int(m["people"]), int(m["violations"]), int(m["dismissed"]), m["compliance"].strip())
        for m in ROW.finditer(html)
    }


@dataclass
class ConsoleProcess(ConsoleServer):
    """A console in a process of its own, so its memory can be read from /proc."""

    pid: int
    log: Path


_SERVE = """
import pickle, sys
import uvicorn
from maskwatch.console.app import create_app
from maskwatch.storage.db import create_db_engine, upgrade
settings = pickle.loads(open(sys.argv[1], "rb").read())
engine = create_db_engine(settings.database.url)
upgrade(engine)
uvicorn.run(create_app(settings, engine), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


@contextmanager
def console_process(settings: Settings, tmp_path: Path) -> Iterator[ConsoleProcess]:
    """`running_console`, but in a child process; what it logs goes to `log`."""
    import pickle
    import subprocess
    import sys

    frozen = tmp_path / "console-settings.pickle"
    frozen.write_bytes(pickle.dumps(settings))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "console.log"
    with log.open("wb") as out:
        child = subprocess.Popen([sys.executable, "-c", _SERVE, str(frozen), str(port)], stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert child.poll() is None, f"console exited: {log.read_text()}"
            assert time.monotonic() < deadline, "console did not start"
            try:
                httpx.get(f"{url}/login", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield ConsoleProcess(url, settings, child.pid, log)
    finally:
        child.terminate()
        child.wait(10)


def proc_status_kib(pid: int, field: str) -> int:
    """A memory figure (VmRSS, VmHWM, ...) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(client: httpx.Client, path: str = "/violations") -> str:
    """The CSRF token a page of the console gives this client's session."""
    found = CSRF.search(client.get(path).text)
    assert found is not None, path
    return found.group(1)


def web_with(web: WebConfig, **changes: Any) -> WebConfig:
    """`web` with `changes`, validated (model_copy would skip the validators)."""
    return WebConfig.model_validate({**web.model_dump(), **changes})
