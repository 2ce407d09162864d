"""Fixtures of the fault suite: servers it owns, and a table of what each fault cost."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import OwnPostgres, OwnRedis

REPORT = Path(os.environ.get("MASKWATCH_FAULT_REPORT", Path(__file__).resolve().parents[2] / "runs" / "faults.jsonl"))


@pytest.fixture(scope="session")
def fault_report() -> Path:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        REPORT.unlink(missing_ok=True)
    return REPORT


@pytest.fixture()
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture()
def own_postgres() -> Iterator[OwnPostgres]:
    server = OwnPostgres()
    yield server
    server.destroy()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORT.exists():
        return
    rows = [json.loads(line) for line in REPORT.read_text().splitlines() if line.strip()]
    if not rows:
        return
    tr = terminalreporter
    tr.section("fault suite: time to detect, time to recover, what was lost")
    tr.write_line(f"{'fault':<44} {'detect (s)':>10} {'recover (s)':>11}  lost")
    for r in rows:
        detect = "-" if r.get("detect_s") is None else f"{r['detect_s']:.1f}"
        recover = "-" if r.get("recover_s") is None else f"{r['recover_s']:.1f}"
        tr.write_line(f"{r['fault']:<44} {detect:>10} {recover:>11}  {r['lost']}")
