"""The recorder stage loop: results and camera health in, durable records out.

A batch is acknowledged on the queue only after its records are committed. While the
database is down the same batch is retried with paced back-off and nothing new is read, so
the backlog waits in the queue (bounded there, with drops counted) instead of being lost here.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from maskwatch import metrics
from maskwatch.config import Settings
from maskwatch.errors import MaskwatchError
from maskwatch.messages import CameraHealth, FrameResult, MessageError
from maskwatch.queue import Delivery, Queue, QueueError
from maskwatch.stages import RETRY_MAX_S, Outage, StaleReclaimer, consumer_name, dead_letter
from maskwatch.storage.jobs import start_jobs
from maskwatch.storage.record.live import LivePictures
from maskwatch.storage.record.recorder import FrameAnalyzed, Recorder, RecordEvent
from maskwatch.storage.record.reorder import Reorderer
from maskwatch.storage.record.tracking import ViolationConfirmed
from maskwatch.storage.snapshots import SnapshotError, SnapshotStore
from maskwatch.streams import HEALTH, RECORDER_GROUP, RESULTS

log = logging.getLogger(__name__)


@dataclass
class _Batch:
    deliveries: list[Delivery]
    events: list[RecordEvent]
    health: list[CameraHealth] = field(default_factory=list)


def count_events(events: list[RecordEvent]) -> None:
    for e in events:
        if isinstance(e, ViolationConfirmed):
            metrics.VIOLATIONS.labels(e.camera_id, e.label).inc()
        elif isinstance(e, FrameAnalyzed):
            metrics.FRAMES_RECORDED.labels(e.camera_id).inc()
        else:
            metrics.PEOPLE.labels(e.camera_id).inc()


class UnrecordedAtStop(MaskwatchError):
    """Asked to stop while a batch could not be written: it is left in the queue, and the stage fails."""


def reclaim_idle_ms(settings: Settings) -> int:
    """How long results may sit unacknowledged before another recorder takes them over: well above
    the reorder window, so results a live recorder holds for reordering stay its own."""
    return int((2 * settings.tracking.reorder_window_s + 5) * 1000)


CAMERA_CHECK_S = 1.0


class RecorderStage:
    def __init__(self, settings: Settings, queue: Queue, engine: Engine, batch_size: int = 64) -> None:
        """`engine`: the database, already migrated; its owner disposes of it."""
        self.settings = settings
        self.queue = queue
        self.batch_size = batch_size
        self.engine = engine
        self.recorder = Recorder(
            settings,
            self.engine,
            SnapshotStore(settings.snapshots.dir, settings.snapshots.jpeg_quality, settings.snapshots.keep_original),
        )
        self.recorder.sync_cameras()
        # Each camera's newest frame, for the console.
        self.live = LivePictures(settings.snapshots.dir, settings.snapshots.live_picture_s)
        self.consumer = consumer_name("recorder")
        for stream in (RESULTS, HEALTH):
            queue.ensure_group(stream, RECORDER_GROUP)
        self.violations_written = 0
        # Tracked but not yet written: survives a stop/start of this stage object.
        self._pending: _Batch | None = None
        self.reclaimer = StaleReclaimer(
            queue, RECORDER_GROUP, self.consumer, [RESULTS, HEALTH], reclaim_idle_ms(settings)
        )
        self._new_settings: Settings | None = None
        self.reorder: Reorderer[Delivery] = Reorderer(settings.tracking.reorder_window_s)

    def _read(self, block_ms: int, flush: bool = False) -> _Batch | None:
        deliveries = self.reclaimer.take(self.batch_size)  # first what a crashed recorder left behind
        if not deliveries and not flush:
            # While results are held for reordering, come back soon to release them.
            wait = min(block_ms, int(self.reorder.window_s * 500)) if self.reorder.held() else block_ms
            deliveries = self.queue.read(RECORDER_GROUP, self.consumer, [RESULTS, HEALTH], self.batch_size, wait)
        health: list[CameraHealth] = []
        good: list[Delivery] = []
        for d in deliveries:
            try:
                if d.stream == RESULTS:
                    result = FrameResult.from_fields(d.fields)
                    self.live.offer(result)
                    self.reorder.add(result, d)
                else:
                    health.append(CameraHealth.from_fields(d.fields))
                    good.append(d)
            except MessageError as exc:
                dead_letter(self.queue, RECORDER_GROUP, d, str(exc))
        released = self.reorder.release(flush=flush)
        good += [d for _, d in released]
        if not good:
            return None
        return _Batch(good, self.recorder.track([r for r, _ in released]), health)

    def run(self, stop: threading.Event, block_ms: int = 500) -> None:
        scheduler = start_jobs(self.settings, self.engine)
        self.live.start()
        try:
            self._loop(stop, block_ms)
        finally:
            self.live.close()
            scheduler.shutdown(wait=False)

    def reconfigure(self, settings: Settings) -> None:
        """A reloaded configuration: picked up between batches, on this stage's own thread."""
        self._new_settings = settings

    def drained(self) -> bool:
        return self.queue.backlog(RESULTS) == 0

    def _loop(self, stop: threading.Event, block_ms: int) -> None:
        backoff = 0.5
        outages = {kind: Outage(f"recorder: {kind}") for kind in ("database", "queue", "snapshot disk")}
        last_check = 0.0
        while not (stop.is_set() and self._pending is None and not self.reorder.held()):
            try:
                if self._new_settings is not None:
                    self.recorder.reconfigure(self._new_settings)
                    self.settings, self._new_settings = self._new_settings, None
                if time.monotonic() - last_check >= CAMERA_CHECK_S:
                    self.recorder.check_cameras()
                    last_check = time.monotonic()
                if self._pending is None:
                    self._pending = self._read(block_ms, flush=stop.is_set())
                    if self._pending is None:
                        for outage in outages.values():
                            outage.ok()
                        continue
                ids = self.recorder.write(self._pending.events, self._pending.health)
                self.queue.ack(RECORDER_GROUP, self._pending.deliveries)
                count_events(self._pending.events)
                self.violations_written += len(ids)
                self._pending, backoff = None, 0.5
                for outage in outages.values():
                    outage.ok()
            except (SQLAlchemyError, SnapshotError, QueueError) as exc:
                reason = getattr(exc, "orig", None) or exc
                if isinstance(exc, QueueError) and "NOGROUP" in str(exc):  # Redis came back empty
                    for stream in (RESULTS, HEALTH):
                        self.queue.ensure_group(stream, RECORDER_GROUP)
                kind = (
                    "queue"
                    if isinstance(exc, QueueError)
                    else "snapshot disk"
                    if isinstance(exc, SnapshotError)
                    else "database"
                )
                outages[kind].failed(reason, RETRY_MAX_S)
                if stop.is_set() and self._pending is not None:
                    raise UnrecordedAtStop(
                        f"recorder stopped with {len(self._pending.deliveries)} results unrecorded ({kind}: "
                        f"{reason}); they stay unacknowledged in the queue for the next recorder"
                    ) from None
                stop.wait(backoff)
                backoff = min(backoff * 2, RETRY_MAX_S)
