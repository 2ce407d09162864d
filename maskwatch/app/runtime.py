"""Running stages: all in one process (`maskwatch run`) or one per process (`maskwatch ingest` ...).

SIGHUP, or a change of the config file's modification time, reloads the configuration:
cameras are added, removed or restarted one by one, without touching the others.

The embedded mode is the same stages as threads over an in-memory queue. Shutdown (SIGTERM,
SIGINT, or every recording finished) drains front to back: ingest stops first, then each
later stage stops once the queue in front of it is empty (bounded by a grace period), so
in-flight frames become results, results become records, and due alerts are attempted. A
stage running alone finishes what it holds and stops; the rest stays pending in Redis.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from maskwatch.app.registry import STAGES, Resources
from maskwatch.config import ConfigError, Settings, load_settings
from maskwatch.errors import MaskwatchError
from maskwatch.queue import Queue, open_queue
from maskwatch.stages import Finite, Stage
from maskwatch.streams import RESULTS

log = logging.getLogger(__name__)


def _describe(stages: dict[str, str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in stages.items())


# What a running process can take over from a reloaded file; anything else needs a restart.
RELOADABLE = ("cameras", "ingest", "tracking")


def install_signal_handlers(stop: threading.Event, reload: threading.Event | None = None) -> None:
    def handler(signum: int, _frame: object) -> None:
        log.info("received %s: finishing in-flight work, then stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    if reload is not None:
        signal.signal(signal.SIGHUP, lambda _s, _f: reload.set())


@dataclass
class _Running:
    name: str
    stage: Stage
    stop: threading.Event
    thread: threading.Thread | None = None
    failure: str | None = None  # why the stage stopped without being asked to, or lost work

    def guarded_run(self) -> None:
        """The stage's loop; an exception or an early return is a failure, logged with its stage."""
        try:
            self.stage.run(self.stop)
        except MaskwatchError as exc:  # a failure the stage explains itself
            self.failure = str(exc)
            return
        except Exception as exc:  # any other escape ends the stage too: the process must exit non-zero
            log.exception("stage %s failed: %s", self.name, exc)
            self.failure = f"failed: {exc}"
            return
        if not self.stop.is_set():
            self.failure = "returned without being stopped"

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


@dataclass
class Runtime:
    settings: Settings
    stages: tuple[str, ...] = tuple(STAGES)
    grace_s: float = 60.0
    queue: Queue = field(init=False)
    running: list[_Running] = field(default_factory=list)
    config_path: Path | None = None
    reload_requested: threading.Event = field(default_factory=threading.Event)
    _config_mtime: float | None = None
    _engine: Engine | None = None
    _http: object = None
    _lost: str | None = None

    def __post_init__(self) -> None:
        unknown = set(self.stages) - set(STAGES)
        if unknown:
            raise ValueError(f"unknown stage(s): {sorted(unknown)}")
        self.queue = open_queue(self.settings.queue.url)

    def start(self) -> None:
        from maskwatch.metrics import serve

        self._http = serve(self.settings.metrics.port, self.settings.metrics.address, self.live, self.ready)
        # Back to front, so every consumer group exists before anything is published.
        for name in reversed(STAGES):
            if name in self.stages:
                self._start(name)
        self.running.reverse()

    def database(self) -> Engine:
        """The process's one database engine, opened and migrated on first use."""
        if self._engine is None:
            from maskwatch.storage.db import open_database

            self._engine = open_database(self.settings.database.url)
        return self._engine

    def _start(self, name: str) -> None:
        r = _Running(name, STAGES[name](Resources(self.settings, self.queue, self.database)), threading.Event())
        r.thread = threading.Thread(target=r.guarded_run, name=f"stage-{name}", daemon=True)
        r.thread.start()
        self.running.append(r)
        log.info("stage %s started", name)

    @property
    def failures(self) -> dict[str, str]:
        """Stages that failed, stopped on their own or left work behind, with the reason."""
        found = {r.name: r.failure for r in self.running if r.failure is not None}
        return {**found, "queue": self._lost} if self._lost else found

    def sources_finished(self) -> bool:
        finite = [r.stage for r in self.running if isinstance(r.stage, Finite)]
        return bool(finite) and all(stage.all_finished() for stage in finite)

    def live(self) -> tuple[bool, dict[str, str]]:
        """Liveness: every stage this process runs is still running."""
        stages = {r.name: "running" if r.alive else "stopped" for r in self.running}
        return all(v == "running" for v in stages.values()) and bool(stages), {"stages": _describe(stages)}

    def ready(self) -> tuple[bool, dict[str, str]]:
        """Readiness: live, and the queue (and, for stages that write, the database) answer."""
        ok, detail = self.live()
        checks: dict[str, str] = {}
        try:
            self.queue.backlog(RESULTS)
            checks["queue"] = "ok"
        except Exception as exc:  # any failure means not ready; the reason goes to the prober
            checks["queue"] = f"unavailable: {exc}"
        if {"record", "alerts"} & set(self.stages):
            checks["database"] = self._database_check()
        ready = ok and all(v == "ok" for v in checks.values())
        return ready, {**detail, **checks}

    def _database_check(self) -> str:
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError

        if self._engine is None:
            return "not opened yet"
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return "ok"
        except SQLAlchemyError as exc:
            return f"unavailable: {getattr(exc, 'orig', None) or exc}".strip()

    def _config_changed(self) -> bool:
        if self.config_path is None:
            return False
        try:
            mtime = self.config_path.stat().st_mtime
        except OSError:
            return False
        changed = self._config_mtime is not None and mtime != self._config_mtime
        self._config_mtime = mtime
        return changed

    def reload(self) -> bool:
        """Re-read the config file and hand the cameras, ingest and tracking settings to the stages.

        An invalid file is reported and the running configuration is kept."""
        if self.config_path is None:
            return False
        try:
            new = load_settings(self.config_path, console=False)  # stages never serve the console
        except ConfigError as exc:
            log.error("configuration reload refused, the running configuration stays: %s", exc)
            return False
        fixed = [
            name
            for name in Settings.model_fields
            if name not in RELOADABLE and getattr(new, name) != getattr(self.settings, name)
        ]
        if fixed:
            log.warning("configuration reload: changes to %s take effect after a restart", ", ".join(fixed))
        keep = {name: getattr(self.settings, name) for name in fixed}
        self.settings = new.model_copy(update=keep)
        for r in self.running:
            r.stage.reconfigure(self.settings)
        log.info("configuration reloaded from %s (%d camera(s))", self.config_path, len(self.settings.cameras))
        return True

    def wait(self, stop: threading.Event, until_sources_finish: bool = False) -> int:
        """Run until `stop`, a stage's end, or (if asked) the end of every recording; then shut down.

        Returns the process's exit status: 1 when a stage failed or work was left behind, so that
        systemd, Kubernetes or compose restart it, else 0."""
        self._config_changed()
        while not stop.is_set():
            if self.reload_requested.is_set() or self._config_changed():
                self.reload_requested.clear()
                self.reload()
            if until_sources_finish and self.sources_finished():
                log.info("every recording has played to its end")
                break
            if any(not r.alive for r in self.running):
                dead = [r.name for r in self.running if not r.alive]
                log.error("stage(s) %s stopped unexpectedly; shutting down", ", ".join(dead))
                break
            stop.wait(0.5)
        self.shutdown()
        for name, why in self.failures.items():
            log.error("stage %s: %s", name, why)
        return 1 if self.failures else 0

    def _report_lost(self) -> None:
        """An in-memory queue ends with the process: what is still in it is lost, and said so."""
        lost = self.queue.lost_on_close()
        if lost:
            self._lost = f"{lost} queued entries lost at shutdown (the in-memory queue ends with the process)"

    def shutdown(self) -> None:
        deadline = time.monotonic() + self.grace_s
        for i, r in enumerate(self.running):  # front to back
            # Only a stage whose upstream ran here (and has stopped) can wait for its input to empty;
            # a stage alone in its process finishes its batch and leaves the rest pending in Redis.
            if i > 0:
                while not r.stage.drained() and time.monotonic() < deadline and r.alive:
                    time.sleep(0.1)
                if not r.stage.drained():
                    log.warning("stage %s stopping with work left in its queue (grace period over)", r.name)
            r.stop.set()
            if r.thread is not None:
                r.thread.join(max(5.0, deadline - time.monotonic()))
            if r.alive:
                r.failure = r.failure or "did not stop within the grace period"
            log.info("stage %s stopped", r.name)
        self._report_lost()
        self.queue.close()
        # The HTTP server stays up until the process exits: probes now see 503 from /healthz.
        if self._engine is not None:
            self._engine.dispose()
