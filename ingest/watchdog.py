"""Per-camera supervision: runs the reader, restarts stalled or failed streams with paced
back-off, counts what was sent and dropped, and publishes the camera's health.

States (maskwatch.messages.CAMERA_STATES): connecting → online; a stream that delivers no
frame for `stall_timeout_s` is `stalled` and restarted; a failed or ended connection is
`offline` until the next attempt, which waits an exponentially growing, jittered, capped delay.
When maskwatch stops, the camera reports `stopped`, saying what it was (a camera that was down
stays known as down, with why: see `stopped_detail`). A camera removed from the configuration while
running reports `disabled` instead: nothing stopped but the watching of this one camera; one whose
settings changed reports `connecting` until the camera's new reader connects.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import replace

from maskwatch import metrics
from maskwatch.config import CameraConfig, IngestConfig
from maskwatch.ingest.reader import CameraReader, ReaderCounters, SourceError, StreamEnded
from maskwatch.logs import camera as camera_fields
from maskwatch.messages import CAMERA_STATES, CameraHealth, FrameMessage
from maskwatch.queue import Queue, QueueError
from maskwatch.stages import Outage
from maskwatch.streams import HEALTH, frames_stream

log = logging.getLogger(__name__)

HEALTH_MAXLEN = 10_000
QUEUE_RETRY_S = 1.0
HEALTHY_AFTER_S = 30.0  # a connection that delivered for this long resets the back-off
REMOVED = "removed from the configuration"
RESTARTING = "restarting with its new settings"


class CameraWatchdog:
    def __init__(
        self,
        camera: CameraConfig,
        cfg: IngestConfig,
        queue: Queue,
        frames_maxlen: int,
        bframe_checks: threading.Semaphore | None = None,
    ) -> None:
        self.camera = camera
        self.bframe_checks = bframe_checks
        self.cfg = cfg
        self.queue = queue
        self.frames_maxlen = frames_maxlen
        self.stream = frames_stream(camera.id)
        self.state = "connecting"
        self.detail = ""
        self.fault = ""  # why the camera is down, without the retry schedule `detail` adds
        self.frames_sent = 0
        self.frames_dropped = 0
        self.motion_skipped = 0
        self.finished = threading.Event()  # a recording played to its end
        self.removed = threading.Event()  # set before the stop when a reload removes the camera
        self.restarting = threading.Event()  # set before the stop when a reload changes the camera
        self._seq = 0
        self._last_health = 0.0
        self._lock = threading.Lock()
        self._last_try = 0.0
        self._synced = ReaderCounters()  # what the current reader had counted at the last sync
        self._queue_outage = Outage(f"camera {camera.id}: queue (frames are dropped and counted meanwhile)")

    # Called on the reader thread: must never block on the consumer side.
    def _publish(self, frame: FrameMessage) -> None:
        now = time.monotonic()
        if self._queue_outage.down and now - self._last_try < QUEUE_RETRY_S:
            # While the queue is down, try at most once a second: a connect timeout per frame would stall the reader.
            with self._lock:
                self.frames_dropped += 1
            metrics.FRAMES_DROPPED.labels(self.camera.id).inc()
            return
        self._last_try = now
        try:
            dropped = self.queue.publish(self.stream, frame.to_fields(), self.frames_maxlen)
            with self._lock:
                self.frames_sent += 1
                self.frames_dropped += dropped
            metrics.FRAMES_SENT.labels(self.camera.id).inc()
            metrics.FRAMES_DROPPED.labels(self.camera.id).inc(dropped)
            self._queue_outage.ok()
        except QueueError as exc:
            # The reader must not wait for the queue: the frame is dropped and counted.
            with self._lock:
                self.frames_dropped += 1
            metrics.FRAMES_DROPPED.labels(self.camera.id).inc()
            self._queue_outage.failed(exc)

    def _set_state(self, state: str, detail: str) -> None:
        if (state, detail) != (self.state, self.detail):
            level = logging.WARNING if state in ("stalled", "offline") else logging.INFO
            log.log(
                level,
                "camera %s: %s%s",
                self.camera.id,
                state,
                f" ({detail})" if detail else "",
                extra=camera_fields(self.camera.id, state=state),
            )
        self.state, self.detail = state, detail
        metrics.CAMERA_UP.labels(self.camera.id).set(1 if state == "online" else 0)
        for name in CAMERA_STATES:
            metrics.CAMERA_STATE.labels(self.camera.id, name).set(1 if name == state else 0)
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
            self._queue_outage.failed(exc)

    def set_removed(self) -> None:
        """The camera left the configuration: its record stays, marked as no longer watched. Said once,
        whether the stopping thread or the stage (for a camera that never ran) says it first."""
        self.removed.set()
        if (self.state, self.detail) != ("disabled", REMOVED):
            self._set_state("disabled", REMOVED)

    def backoff(self, attempt: int) -> float:
        """Delay before reconnect attempt `attempt` (1-based): doubling, capped, with ±20 % jitter so
        cameras behind one failed switch do not all reconnect in the same instant."""
        delay = min(self.cfg.backoff_initial_s * 2 ** (attempt - 1), self.cfg.backoff_max_s)
        return delay * random.uniform(0.8, 1.0) if delay >= self.cfg.backoff_max_s else delay * random.uniform(0.8, 1.2)

    def run(self, stop: threading.Event) -> None:
        if not self.camera.enabled:
            self._set_state("disabled", "enabled: false in the configuration")
            while not stop.wait(self.cfg.health_interval_s):
                self.publish_health(force=True)
            if self.removed.is_set():
                self.set_removed()
            return
        attempt = 0
        while not stop.is_set():
            reader = CameraReader(self.camera, self.cfg, self._publish, self._seq, self.bframe_checks)
            self._synced = ReaderCounters()
            reader_stop = threading.Event()
            outcome: list[BaseException] = []
            started = time.monotonic()

            if self.state != "offline":  # retries stay `offline` until one succeeds
                self._set_state("connecting", "")
            thread = threading.Thread(
                target=self._read, args=(reader, reader_stop, outcome), name=f"reader-{self.camera.id}", daemon=True
            )
            thread.start()
            self._supervise(thread, reader, reader_stop, stop)
            if stop.is_set():
                break
            error = outcome[0] if outcome else None
            if reader.source.is_file and (isinstance(error, StreamEnded) or (error and reader.frames_decoded)):
                # A recording is never replayed: what it sent stays sent, so an error part-way ends it.
                ended = str(error) if isinstance(error, StreamEnded) else f"{error}; the recording is not replayed"
                self._set_state("finished", ended)
                self.finished.set()
                return
            if isinstance(error, SourceError) and not error.timed_out and reader.frames_decoded:
                metrics.DECODE_ERRORS.labels(self.camera.id).inc()  # it failed mid-stream
            if isinstance(error, SourceError) and error.timed_out and reader.frames_decoded:
                # FFmpeg's read timeout can fire before the stall timeout: a stream that stopped is stalled.
                idle = time.monotonic() - reader.last_progress
                self.fault = f"no frame for {idle:.0f} s"
                self._set_state("stalled", self.fault)
            if time.monotonic() - started >= HEALTHY_AFTER_S and reader.frames_decoded:
                attempt = 0
            attempt += 1
            delay = self.backoff(attempt)
            metrics.RECONNECTS.labels(self.camera.id).inc()
            self.fault = str(error) if error else self.fault or "reader stopped"
            # When, not "in how long": the detail is read later (status, alerts), when a countdown is stale.
            at = time.strftime("%H:%M:%S", time.gmtime(time.time() + delay))
            self._set_state("offline", f"{self.fault}; retry {attempt} at {at} UTC")
            stop.wait(delay)
        self._say_why_stopped()

    def _say_why_stopped(self) -> None:
        if self.removed.is_set():
            self.set_removed()
        elif self.restarting.is_set():  # its successor reports next: not watched until it connects
            self._set_state("connecting", RESTARTING)
        else:
            self._set_state("stopped", self.stopped_detail())

    def stopped_detail(self) -> str:
        """What the camera was when maskwatch stopped: a shutdown does not make a dead camera healthy."""
        if self.state in ("offline", "stalled"):
            return f"maskwatch stopped; the camera was {self.state}: {self.fault}"
        if self.state == "connecting":
            return "maskwatch stopped before the camera connected"
        return "maskwatch stopped"

    def _read(self, reader: CameraReader, reader_stop: threading.Event, outcome: list[BaseException]) -> None:
        try:
            reader.run(reader_stop)
        except (StreamEnded, SourceError) as exc:
            outcome.append(exc)
        except Exception as exc:  # a bug must not silently kill the camera: report it and restart
            log.exception("camera %s: reader crashed", self.camera.id)
            outcome.append(exc)

    def _sync_counters(self, reader: CameraReader) -> None:
        """Move what the reader counted since the last call into the Prometheus counters."""
        c, last, cam = reader.counters, self._synced, self.camera.id
        metrics.FRAMES_DECODED.labels(cam).inc(c.decoded - last.decoded)
        metrics.FRAMES_SAMPLED.labels(cam).inc(c.sampled - last.sampled)
        metrics.DECODE_ERRORS.labels(cam).inc(c.encode_errors - last.encode_errors)
        metrics.FRAMES_MOTION_SKIPPED.labels(cam).inc(c.motion_skipped - last.motion_skipped)
        self.motion_skipped += c.motion_skipped - last.motion_skipped
        self._synced = replace(c)

    def _supervise(
        self, thread: threading.Thread, reader: CameraReader, reader_stop: threading.Event, stop: threading.Event
    ) -> None:
        while thread.is_alive():
            thread.join(0.2)
            if stop.is_set():
                reader_stop.set()
                continue
            if reader.frames_decoded and self.state in ("connecting", "offline"):
                self.fault = ""
                self._set_state("online", "")
            idle = time.monotonic() - reader.last_progress
            if idle > self.cfg.stall_timeout_s and not reader_stop.is_set():
                # The reader's own read timeout unblocks it if it is stuck inside FFmpeg.
                self.fault = f"no frame for {idle:.0f} s"
                self._set_state("stalled", self.fault)
                reader_stop.set()
            self.publish_health()
            self._sync_counters(reader)
        thread.join()
        self._sync_counters(reader)
        self._seq = reader.next_seq  # sequence numbers continue across reconnects: gaps mean drops
