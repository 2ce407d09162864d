"""The ingest stage: one watchdog (and reader) per configured camera."""

from __future__ import annotations

import logging
import threading

from ingest.watchdog import CameraWatchdog
from maskwatch.config import Settings
from maskwatch.queue import Queue

log = logging.getLogger(__name__)


class IngestStage:
    def __init__(self, settings: Settings, queue: Queue) -> None:
        self.watchdogs = [
            CameraWatchdog(cam, settings.ingest, queue, settings.queue.frames_maxlen) for cam in settings.cameras
        ]

    def all_finished(self) -> bool:
        """True when every camera is a recording that has played to its end."""
        return bool(self.watchdogs) and all(w.finished.is_set() for w in self.watchdogs)

    def run(self, stop: threading.Event) -> None:
        threads = [
            threading.Thread(target=w.run, args=(stop,), name=f"camera-{w.camera.id}", daemon=True)
            for w in self.watchdogs
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for w in self.watchdogs:
            log.info("camera %s: %d frames sent, %d dropped", w.camera.id, w.frames_sent, w.frames_dropped)
