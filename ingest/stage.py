"""The ingest stage: one watchdog (and reader) per configured camera.

`apply` takes a new configuration while running: cameras added are started, cameras removed
are stopped, cameras whose settings changed are restarted, and every other camera keeps its
connection.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from maskwatch.config import CameraConfig, Settings
from maskwatch.ingest.decoding import BFrameCheck
from maskwatch.ingest.watchdog import CameraWatchdog
from maskwatch.queue import Queue

log = logging.getLogger(__name__)


@dataclass
class _Camera:
    watchdog: CameraWatchdog
    stop: threading.Event
    thread: threading.Thread | None = None


class IngestStage:
    def __init__(self, settings: Settings, queue: Queue) -> None:
        self.settings = settings
        self.queue = queue
        self._lock = threading.Lock()
        self._started = False
        self._bframe_checks = threading.BoundedSemaphore(BFrameCheck.AT_ONCE)
        self._cameras: dict[str, _Camera] = {c.id: self._new(c) for c in settings.cameras}

    @property
    def watchdogs(self) -> list[CameraWatchdog]:
        with self._lock:
            return [c.watchdog for c in self._cameras.values()]

    def _new(self, camera: CameraConfig) -> _Camera:
        return _Camera(
            CameraWatchdog(
                camera, self.settings.ingest, self.queue, self.settings.queue.frames_maxlen, self._bframe_checks
            ),
            threading.Event(),
        )

    @staticmethod
    def _start(cam: _Camera) -> None:
        cam.thread = threading.Thread(
            target=cam.watchdog.run, args=(cam.stop,), name=f"camera-{cam.watchdog.camera.id}", daemon=True
        )
        cam.thread.start()

    @staticmethod
    def _stop(cam: _Camera) -> None:
        cam.stop.set()
        if cam.thread is not None:
            cam.thread.join(30)
        w = cam.watchdog
        log.info("camera %s: %d frames sent, %d dropped", w.camera.id, w.frames_sent, w.frames_dropped)

    def drained(self) -> bool:
        """Ingest reads cameras, not a queue: nothing waits in front of it."""
        return True

    def all_finished(self) -> bool:
        """True when every enabled camera is a recording that has played to its end."""
        dogs = [w for w in self.watchdogs if w.camera.enabled]
        return bool(dogs) and all(w.finished.is_set() for w in dogs)

    def reconfigure(self, settings: Settings) -> tuple[list[str], list[str], list[str]]:
        """Adopt a new configuration; returns the camera ids (added, removed, restarted)."""
        with self._lock:
            ingest_changed = settings.ingest != self.settings.ingest or settings.queue != self.settings.queue
            self.settings = settings
            wanted = {c.id: c for c in settings.cameras}
            removed = [cid for cid in self._cameras if cid not in wanted]
            changed = [
                cid
                for cid, cam in self._cameras.items()
                if cid in wanted and (ingest_changed or cam.watchdog.camera != wanted[cid])
            ]
            added = [cid for cid in wanted if cid not in self._cameras]
            for cid in removed + changed:
                old = self._cameras.pop(cid)
                # Read by its thread as it stops: disabled or restarting, not "maskwatch stopped".
                (old.watchdog.removed if cid in removed else old.watchdog.restarting).set()
                if self._started:
                    self._stop(old)
                if cid in removed:  # a camera that never ran, or whose thread did not stop in time
                    old.watchdog.set_removed()
            for cid in changed + added:
                self._cameras[cid] = cam = self._new(wanted[cid])
                if self._started:
                    self._start(cam)
        for what, ids in (("added", added), ("removed", removed), ("restarted", changed)):
            if ids:
                log.info("configuration reload: camera(s) %s %s", ", ".join(ids), what)
        return added, removed, changed

    def run(self, stop: threading.Event) -> None:
        with self._lock:
            self._started = True
            for cam in self._cameras.values():
                self._start(cam)
        stop.wait()
        with self._lock:
            for cam in self._cameras.values():
                cam.stop.set()
            for cam in self._cameras.values():
                self._stop(cam)
