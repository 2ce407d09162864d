"""Per-camera supervision: runs the reader, restarts stalled or failed streams with paced
back-off, counts what was sent and dropped, and publishes the camera's health."""

from __future__ import annotations

import logging
import threading
import time

from ingest.reader import CameraReader, SourceError, StreamEnded
from maskwatch import metrics
from maskwatch.config import CameraConfig, IngestConfig
from maskwatch.messages import CameraHealth, FrameMessage
from maskwatch.queue import Queue, QueueError
from maskwatch.streams import HEALTH, frames_stream

log = logging.getLogger(__name__)

HEALTH_MAXLEN = 10_000
HEALTHY_AFTER_S = 30.0  # a connection that delivered for this long resets the back-off


class CameraWatchdog:
    def __init__(self, camera: CameraConfig, cfg: IngestConfig, queue: Queue, frames_maxlen: int) -> None:
        self.camera = camera
        self.cfg = cfg
        self.queue = queue
        self.frames_maxlen = frames_maxlen
        self.stream = frames_stream(camera.id)
        self.state = "connecting"
        self.detail = ""
        self.frames_sent = 0
        self.frames_dropped = 0
        self.finished = threading.Event()  # a recording played to its end
        self._seq = 0
        self._last_health = 0.0
        self._lock = threading.Lock()

    # Called on the reader thread: must never block on the consumer side.
    def _publish(self, frame: FrameMessage) -> None:
        try:
            dropped = self.queue.publish(self.stream, frame.to_fields(), self.frames_maxlen)
            with self._lock:
                self.frames_sent += 1
                self.frames_dropped += dropped
            metrics.FRAMES_SENT.labels(self.camera.id).inc()
            metrics.FRAMES_DROPPED.labels(self.camera.id).inc(dropped)
        except QueueError as exc:
            with self._lock:
                self.frames_dropped += 1
            metrics.FRAMES_DROPPED.labels(self.camera.id).inc()
            if self.frames_dropped % 100 == 1:
                log.error("camera %s: frame dropped, queue unavailable: %s", self.camera.id, exc)

    def _set_state(self, state: str, detail: str) -> None:
        if (state, detail) != (self.state, self.detail):
            level = logging.INFO if state in ("streaming", "connecting", "finished", "stopped") else logging.WARNING
            log.log(level, "camera %s: %s%s", self.camera.id, state, f" ({detail})" if detail else "")
        self.state, self.detail = state, detail
        metrics.CAMERA_UP.labels(self.camera.id).set(1 if state == "streaming" else 0)
        self.publish_health(force=True)

    def publish_health(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_health < self.cfg.health_interval_s:
            return
        self._last_health = now
        health = CameraHealth(
            self.camera.id, self.state, self.detail, self.frames_sent, self.frames_dropped, time.time()
        )
        try:
            self.queue.publish(HEALTH, health.to_fields(), HEALTH_MAXLEN)
        except QueueError as exc:
            log.error("camera %s: health not published, queue unavailable: %s", self.camera.id, exc)

    def run(self, stop: threading.Event) -> None:
        attempt = 0
        while not stop.is_set():
            reader = CameraReader(self.camera, self.cfg, self._publish)
            reader_stop = threading.Event()
            outcome: list[BaseException] = []
            started = time.monotonic()

            self._set_state("connecting", "")
            thread = threading.Thread(
                target=self._read, args=(reader, reader_stop, outcome), name=f"reader-{self.camera.id}", daemon=True
            )
            thread.start()
            self._supervise(thread, reader, reader_stop, stop)
            if stop.is_set():
                break
            error = outcome[0] if outcome else None
            if isinstance(error, StreamEnded) and reader.source.is_file:
                self._set_state("finished", str(error))
                self.finished.set()
                return
            if time.monotonic() - started >= HEALTHY_AFTER_S and reader.frames_decoded:
                attempt = 0
            delay = min(self.cfg.backoff_initial_s * 2**attempt, self.cfg.backoff_max_s)
            attempt += 1
            reason = str(error) if error else self.detail or "reader stopped"
            self._set_state("reconnecting", f"{reason}; retry {attempt} in {delay:.1f} s")
            stop.wait(delay)
        self._set_state("stopped", "")

    def _read(self, reader: CameraReader, reader_stop: threading.Event, outcome: list[BaseException]) -> None:
        try:
            self._seq = reader.run(reader_stop, self._seq)
        except (StreamEnded, SourceError) as exc:
            outcome.append(exc)
        except Exception as exc:  # a bug must not silently kill the camera: report it and restart
            log.exception("camera %s: reader crashed", self.camera.id)
            outcome.append(exc)

    def _supervise(
        self, thread: threading.Thread, reader: CameraReader, reader_stop: threading.Event, stop: threading.Event
    ) -> None:
        while thread.is_alive():
            thread.join(0.2)
            if stop.is_set():
                reader_stop.set()
                continue
            if reader.frames_decoded and self.state == "connecting":
                self._set_state("streaming", "")
            idle = time.monotonic() - reader.last_progress
            if idle > self.cfg.stall_timeout_s and not reader_stop.is_set():
                # The reader's own read timeout unblocks it if it is stuck inside FFmpeg.
                self._set_state("stalled", f"no frame for {idle:.0f} s")
                reader_stop.set()
            self.publish_health()
        thread.join()
