"""Shared fixtures. Tests that need ../shared, TensorFlow or a service skip with a reason
locally, and fail instead when MASKWATCH_FORBID_SKIPS is set (as `.ci/run` does)."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
GUARDED_MARKERS = ("shared", "training", "service", "browser")


def _shared_dir() -> Path:
    return Path(os.environ.get("MASKWATCH_SHARED", REPO.parent / "shared")).resolve()


# A test's folder says what it needs: marking by folder keeps `-m service` and the no-skip rule of
# CI in step with the layout (a test in tests/service that skips fails in CI).
FOLDER_MARKERS = {"service": "service", "browser": "browser", "faults": "faults"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.parent.name
        if folder in FOLDER_MARKERS and item.path.parent.parent == REPO / "tests":
            item.add_marker(FOLDER_MARKERS[folder])


# Tests marked `attack` are attacks on maskwatch (the console, its config, its inputs): each case
# that passes held. The table at the end says which were tried, what was expected, and what held;
# the cases of a parametrized attack share its row.
ATTACKS: dict[str, dict[str, Any]] = {}


def _record_attack(item: pytest.Item, report: pytest.TestReport) -> None:
    marker = item.get_closest_marker("attack")
    if marker is None or report.skipped or (report.when != "call" and report.passed):
        return
    row = ATTACKS.setdefault(marker.args[0], {"expected": marker.kwargs.get("expected", ""), "held": 0, "tried": 0})
    row["tried"] += 1
    row["held"] += report.passed


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not ATTACKS:
        return
    tr = terminalreporter
    tr.section("attacks: tried, expected, held")
    width = max(len(name) for name in ATTACKS)
    for name, row in ATTACKS.items():
        result = "held" if row["held"] == row["tried"] else f"NOT HELD in {row['tried'] - row['held']}"
        cases = f"{row['tried']} case{'s' if row['tried'] > 1 else ''}"
        tr.write_line(f"{name:<{width}}  {row['expected']:<58}  {cases:>9}  {result}")
    tried = sum(r["tried"] for r in ATTACKS.values())
    held = sum(r["held"] for r in ATTACKS.values())
    tr.write_line(f"{len(ATTACKS)} attacks, {tried} cases tried, {held} held")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    _record_attack(item, report)
    if report.skipped and os.environ.get("MASKWATCH_FORBID_SKIPS"):
        guarded = [m for m in GUARDED_MARKERS if item.get_closest_marker(m)]
        if guarded:
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, which is not allowed for {guarded} tests: {report.longrepr}"


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """Commands under test call setup_logging, which points the root logger at the sys.stderr of
    that moment: pytest's capture stream, closed after the test. Later tests then logged
    "--- Logging error ---" tracebacks instead of their own lines."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def shared() -> Path:
    path = _shared_dir()
    if not (path / "datasets").is_dir():
        pytest.skip(f"../shared data not found at {path} (set MASKWATCH_SHARED)")
    return path


@pytest.fixture(scope="session")
def ilc(shared: Path) -> Path:
    return shared / "datasets" / "scenes-ilc2021"


@pytest.fixture(scope="session")
def yunet_model(shared: Path) -> Path:
    return shared / "weights" / "face_detection_yunet_2023mar.onnx"


@pytest.fixture()
def redis_url() -> Iterator[str]:
    """A real Redis on 127.0.0.1 (MASKWATCH_TEST_REDIS overrides); keys made by the test are removed."""
    import redis

    url = os.environ.get("MASKWATCH_TEST_REDIS", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {url}: {exc}")
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    """A fresh database on the real Postgres at 127.0.0.1, dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin_url = os.environ.get("MASKWATCH_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"maskwatch_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no Postgres at {admin_url}: {exc.orig}")
    yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.service)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both databases maskwatch supports: a SQLite file and a real Postgres database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'maskwatch.db'}"
    return str(request.getfixturevalue("postgres_url"))


class RtspServer:
    """The GStreamer RTSP server (devtools/rtsp_server.py) as a subprocess on 127.0.0.1."""

    def __init__(self, mounts: list[str], port: int = 0) -> None:
        import subprocess

        self.mounts = mounts
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", str(REPO / "devtools" / "rtsp_server.py"), "--port", str(port), *mounts],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"RTSP server did not start: {line!r} {err[-2000:]}")
        self.port = int(line.split()[1])

    def url(self, mount: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{mount}"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture()
def rtsp_server(shared: Path) -> Iterator[Any]:
    """Factory: rtsp_server(["cam=../shared/videos/x.mp4", ...], port=0) -> RtspServer."""
    import shutil
    import subprocess

    probe = (
        subprocess.run(
            [
                "/usr/bin/python3",
                "-c",
                "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer",
            ],
            capture_output=True,
        )
        if shutil.which("/usr/bin/python3")
        else None
    )
    if probe is None or probe.returncode != 0:
        pytest.skip("GStreamer RTSP server not installed (apt: gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-bad)")
    servers: list[RtspServer] = []

    def start(mounts: list[str], port: int = 0) -> RtspServer:
        server = RtspServer(mounts, port)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()
