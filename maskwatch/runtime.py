"""Running stages: all in one process (`maskwatch run`) or one per process (`maskwatch ingest` ...).

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
from typing import TYPE_CHECKING

from maskwatch.config import Settings
from maskwatch.queue import Queue, open_queue
from maskwatch.streams import RESULTS, frames_stream

if TYPE_CHECKING:
    from ingest.stage import IngestStage

log = logging.getLogger(__name__)

STAGES = ("ingest", "infer", "record", "alerts")


def install_signal_handlers(stop: threading.Event) -> None:
    def handler(signum: int, _frame: object) -> None:
        log.info("received %s: finishing in-flight work, then stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


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

    def __post_init__(self) -> None:
        unknown = set(self.stages) - set(STAGES)
        if unknown:
            raise ValueError(f"unknown stage(s): {sorted(unknown)}")
        self.queue = open_queue(self.settings.queue.url)

    def start(self) -> None:
        from maskwatch.metrics import serve

        serve(self.settings.metrics.port, self.settings.metrics.address)
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
            from ingest.stage import IngestStage

            self.ingest = IngestStage(self.settings, self.queue)
            return self.ingest.run, lambda: True
        if name == "infer":
            from inference.worker import InferenceWorker

            streams = [frames_stream(c.id) for c in self.settings.cameras]
            return InferenceWorker(self.settings, self.queue).run, lambda: all(
                self.queue.backlog(s) == 0 for s in streams
            )
        if name == "record":
            from storage.stage import RecorderStage

            return RecorderStage(self.settings, self.queue).run, lambda: self.queue.backlog(RESULTS) == 0
        from alerts.dispatcher import Dispatcher
        from storage.db import create_db_engine, upgrade

        engine = create_db_engine(self.settings.database.url)
        upgrade(engine)
        dispatcher = Dispatcher(self.settings, engine)
        return dispatcher.run, dispatcher.nothing_due

    def sources_finished(self) -> bool:
        return self.ingest is not None and self.ingest.all_finished()

    def wait(self, stop: threading.Event, until_sources_finish: bool = False) -> None:
        while not stop.is_set():
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
