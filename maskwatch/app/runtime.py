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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maskwatch.config import ConfigError, Settings, load_settings
from maskwatch.queue import Queue, open_queue
from maskwatch.streams import RESULTS

if TYPE_CHECKING:
    from maskwatch.ingest.stage import IngestStage

log = logging.getLogger(__name__)


def _describe(stages: dict[str, str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in stages.items())


STAGES = ("ingest", "infer", "record", "alerts")


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
    stop: threading.Event
    thread: threading.Thread
    drained: Callable[[], bool] = lambda: True


@dataclass
class Runtime:
    settings: Settings
    stages: tuple[str, ...] = STAGES
    grace_s: float = 60.0
    queue: Queue = field(init=False)
    running: list[_Running] = field(default_factory=list)
    ingest: IngestStage | None = None
    config_path: Path | None = None
    reload_requested: threading.Event = field(default_factory=threading.Event)
    _reconfigure: list[Callable[[Settings], object]] = field(default_factory=list)
    _config_mtime: float | None = None
    _engine: Any = None
    _http: Any = None

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

    def _start(self, name: str) -> None:
        stop = threading.Event()
        target, drained = self._build(name)
        thread = threading.Thread(target=target, args=(stop,), name=f"stage-{name}", daemon=True)
        thread.start()
        self.running.append(_Running(name, stop, thread, drained))
        log.info("stage %s started", name)

    def _build(self, name: str) -> tuple[Callable[[threading.Event], None], Callable[[], bool]]:
        """The stage's loop, and how to tell that its input queue is empty."""
        if name == "ingest":
            from maskwatch.ingest.stage import IngestStage

            self.ingest = IngestStage(self.settings, self.queue)
            self._reconfigure.append(self.ingest.apply)
            return self.ingest.run, lambda: True
        if name == "infer":
            from maskwatch.inference.worker import InferenceWorker

            worker = InferenceWorker(self.settings, self.queue)
            self._reconfigure.append(worker.reconfigure)
            return worker.run, lambda: all(self.queue.backlog(s) == 0 for s in worker.streams)
        if name == "record":
            from maskwatch.storage.record.stage import RecorderStage

            recorder = RecorderStage(self.settings, self.queue)
            self._reconfigure.append(recorder.reconfigure)
            return recorder.run, lambda: self.queue.backlog(RESULTS) == 0
        from maskwatch.alerts.dispatcher import Dispatcher
        from maskwatch.storage.db import create_db_engine, upgrade

        engine = create_db_engine(self.settings.database.url)
        upgrade(engine)
        dispatcher = Dispatcher(self.settings, engine)
        return dispatcher.run, dispatcher.nothing_due

    def sources_finished(self) -> bool:
        return self.ingest is not None and self.ingest.all_finished()

    def live(self) -> tuple[bool, dict[str, str]]:
        """Liveness: every stage this process runs is still running."""
        stages = {r.name: "running" if r.thread.is_alive() else "stopped" for r in self.running}
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

        from maskwatch.storage.db import create_db_engine

        if self._engine is None:
            self._engine = create_db_engine(self.settings.database.url)
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
            new = load_settings(self.config_path)
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
        for apply in self._reconfigure:
            apply(self.settings)
        log.info("configuration reloaded from %s (%d camera(s))", self.config_path, len(self.settings.cameras))
        return True

    def wait(self, stop: threading.Event, until_sources_finish: bool = False) -> None:
        self._config_changed()
        while not stop.is_set():
            if self.reload_requested.is_set() or self._config_changed():
                self.reload_requested.clear()
                self.reload()
            if until_sources_finish and self.sources_finished():
                log.info("every recording has played to its end")
                break
            if any(not r.thread.is_alive() for r in self.running):
                dead = [r.name for r in self.running if not r.thread.is_alive()]
                log.error("stage(s) %s stopped unexpectedly; shutting down", dead)
                break
            stop.wait(0.5)
        self.shutdown()

    def shutdown(self) -> None:
        deadline = time.monotonic() + self.grace_s
        for i, r in enumerate(self.running):  # front to back
            # Only a stage whose upstream ran here (and has stopped) can wait for its input to empty;
            # a stage alone in its process finishes its batch and leaves the rest pending in Redis.
            if i > 0:
                while not r.drained() and time.monotonic() < deadline and r.thread.is_alive():
                    time.sleep(0.1)
                if not r.drained():
                    log.warning("stage %s stopping with work left in its queue (grace period over)", r.name)
            r.stop.set()
            r.thread.join(max(5.0, deadline - time.monotonic()))
            log.info("stage %s stopped", r.name)
        self.queue.close()
        # The HTTP server stays up until the process exits: probes now see 503 from /healthz.
        if self._engine is not None:
            self._engine.dispose()
