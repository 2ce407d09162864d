"""Shared fixtures. Tests that need ../shared, TensorFlow or a service skip with a reason
locally, and fail instead when MASKWATCH_FORBID_SKIPS is set (as `.ci/run` does)."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
GUARDED_MARKERS = ("shared", "training", "service")


def _shared_dir() -> Path:
    return Path(os.environ.get("MASKWATCH_SHARED", REPO.parent / "shared")).resolve()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("MASKWATCH_FORBID_SKIPS"):
        guarded = [m for m in GUARDED_MARKERS if item.get_closest_marker(m)]
        if guarded:
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, which is not allowed for {guarded} tests: {report.longrepr}"


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
