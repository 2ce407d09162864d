"""Running maskwatch's stages as real processes for the fault suite, and reading what they did."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from maskwatch.storage.models import Camera, CameraStatusEvent, EvaluationCount, OutboxAlert, Violation

REPO = Path(__file__).resolve().parents[2]


def fast_config(**sections: Any) -> dict[str, Any]:
    """Timings shortened so each fault resolves in seconds; sections given replace the defaults."""
    cfg: dict[str, Any] = {
        "ingest": {
            "open_timeout_s": 2,
            "stall_timeout_s": 3,
            "backoff_initial_s": 0.5,
            "backoff_max_s": 2,
            "health_interval_s": 1,
        },
        "inference": {"batch_frames": 4, "batch_wait_ms": 50, "reclaim_idle_ms": 3000},
        "alerts": {"camera_grace_s": 2, "backoff_initial_s": 0.5, "backoff_max_s": 2, "max_attempts": 100},
        "queue": {"frames_maxlen": 10_000},
    }
    for key, value in sections.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


def wait_until(condition: Callable[[], Any], timeout: float, what: str, poll: float = 0.1) -> float:
    """Seconds it took `condition` to hold; fails the test after `timeout`."""
    start = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - start
        except Exception:  # a database or queue that is down is "not yet"
            pass
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}")
        time.sleep(poll)


class Pipeline:
    """maskwatch stage processes on one config file; logs go to files beside it."""

    def __init__(self, workdir: Path, config: dict[str, Any], env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.config_path = workdir / "maskwatch.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.config = config
        self.env = {**os.environ, **(env or {})}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._engine: Any = None
        subprocess.run(
            [sys.executable, "-m", "maskwatch", "db", "upgrade", "--config", str(self.config_path)],
            check=True,
            env=self.env,
            capture_output=True,
        )

    def start(self, *stages: str, name: str | None = None) -> subprocess.Popen[bytes]:
        proc = None
        for stage in stages:
            proc = self.start_with_config(stage, self.config_path, name or stage)
        assert proc is not None
        return proc

    def start_with_config(self, stage: str, config: Path, name: str) -> subprocess.Popen[bytes]:
        """A stage on its own config file (e.g. an ingest process with a subset of the cameras)."""
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "maskwatch", stage, "--config", str(config)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            cwd=REPO,
        )
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def alive(self) -> dict[str, bool]:
        return {name: p.poll() is None for name, p in self.procs.items()}

    def stop(self, timeout: float = 60) -> dict[str, int | None]:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, p in self.procs.items():
            try:
                codes[name] = p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                codes[name] = None
        if self._engine is not None:
            self._engine.dispose()
        return codes

    # What the database says, as an operator would see it.
    @property
    def engine(self) -> Any:
        if self._engine is None:
            self._engine = create_engine(self.config["database"]["url"], pool_pre_ping=True)
        return self._engine

    def camera(self, camera_id: str) -> Camera:
        with Session(self.engine) as s:
            row = s.get(Camera, camera_id)
        if row is None:
            raise LookupError(f"camera {camera_id} not in the database yet")
        return row

    def states(self, camera_id: str) -> list[str]:
        with Session(self.engine) as s:
            return list(
                s.scalars(
                    select(CameraStatusEvent.state)
                    .where(CameraStatusEvent.camera_id == camera_id)
                    .order_by(CameraStatusEvent.id)
                )
            )

    def frames_recorded(self, camera_id: str | None = None) -> int:
        with Session(self.engine) as s:
            query = select(func.coalesce(func.sum(EvaluationCount.frames), 0))
            if camera_id:
                query = query.where(EvaluationCount.camera_id == camera_id)
            return int(s.scalar(query) or 0)

    def violations(self) -> list[tuple[str, str, tuple[int, ...]]]:
        with Session(self.engine) as s:
            rows = s.scalars(select(Violation).order_by(Violation.started_at)).all()
            return [(v.camera_id, v.label, tuple(round(c) for c in v.box)) for v in rows]

    def outbox(self) -> list[tuple[str, str, str]]:
        with Session(self.engine) as s:
            return [(a.kind, a.channel, a.state) for a in s.scalars(select(OutboxAlert).order_by(OutboxAlert.id))]


def report_row(path: Path, **row: Any) -> None:
    """Append one fault's measured figures (read by the suite's summary table)."""
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")
