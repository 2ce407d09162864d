"""The inference stage: frames from every camera stream in, labelled faces out.

Workers form one consumer group over all camera streams, so any number of them on any number
of machines share the load. A batch is filled up to `batch_frames` or `batch_wait_ms`, all its
faces are classified in one interpreter call, results are published, and only then are the
frames acknowledged. Frames a dead worker held are reclaimed after `reclaim_idle_ms`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, replace

import cv2
import numpy as np

from maskwatch import metrics
from maskwatch.areas import CameraAreas
from maskwatch.config import Settings
from maskwatch.inference.analyzer import FaceAnalyzer
from maskwatch.labels import VIOLATIONS
from maskwatch.messages import FaceObservation, FrameMessage, FrameResult, MessageError
from maskwatch.queue import Delivery, Queue, QueueError
from maskwatch.stages import RETRY_MAX_S, Outage, StaleReclaimer, consumer_name, dead_letter
from maskwatch.streams import FRAMES_PREFIX, INFERENCE_GROUP, RESULTS, frames_stream

log = logging.getLogger(__name__)


LAG_REPORT_S = 5.0
MAX_FRAME_PIXELS = 8192 * 8192  # beyond any camera; a bigger frame is garbage or an attack on memory


def decode_frame(frame: FrameMessage) -> np.ndarray:
    """The frame's image, or MessageError naming the camera and frame when it is unusable."""
    where = f"camera {frame.camera_id} frame {frame.seq}"
    if frame.width <= 0 or frame.height <= 0 or not frame.jpeg:
        raise MessageError(f"{where}: empty frame ({frame.width}x{frame.height}, {len(frame.jpeg)} bytes)")
    if frame.width * frame.height > MAX_FRAME_PIXELS:
        raise MessageError(f"{where}: {frame.width}x{frame.height} is larger than any camera frame; refused")
    # (OpenCV itself refuses JPEGs over 2^30 pixels whatever the message claims.)
    image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise MessageError(f"{where}: JPEG does not decode")
    if image.shape[:2] != (frame.height, frame.width):
        h, w = image.shape[:2]
        raise MessageError(f"{where}: JPEG is {w}x{h}, the message says {frame.width}x{frame.height}")
    return image


@dataclass
class WorkerStats:
    frames: int = 0
    faces: int = 0
    batches: int = 0
    busy_s: float = 0.0


class InferenceWorker:
    def __init__(
        self, settings: Settings, queue: Queue, analyzer: FaceAnalyzer | None = None, consumer: str | None = None
    ) -> None:
        self.settings = settings
        self.cfg = settings.inference
        self.queue = queue
        self.analyzer = analyzer or FaceAnalyzer(settings.analyzer)
        self.streams = [frames_stream(c.id) for c in settings.cameras]
        self.areas = {c.id: CameraAreas.of(c) for c in settings.cameras}
        self.consumer = consumer or consumer_name("infer")
        for stream in self.streams:
            queue.ensure_group(stream, INFERENCE_GROUP)
        self.stats = WorkerStats()
        self.reclaimer = StaleReclaimer(queue, INFERENCE_GROUP, self.consumer, self.streams, self.cfg.reclaim_idle_ms)
        self._new_streams: list[str] | None = None
        self._live_slots: dict[str, int] = {}  # per camera: the live-picture interval last given a JPEG

    def _collect(self, block_ms: int) -> list[Delivery]:
        got = self.reclaimer.take(self.cfg.batch_frames)
        if len(got) >= self.cfg.batch_frames:
            return got
        got += self.queue.read(INFERENCE_GROUP, self.consumer, self.streams, self.cfg.batch_frames - len(got), block_ms)
        deadline = time.monotonic() + self.cfg.batch_wait_ms / 1000
        while got and len(got) < self.cfg.batch_frames:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                break
            more = self.queue.read(
                INFERENCE_GROUP, self.consumer, self.streams, self.cfg.batch_frames - len(got), remaining_ms
            )
            if not more:
                break
            got += more
        return got

    def process(self, deliveries: list[Delivery]) -> int:
        """Analyze one batch, publish its results, acknowledge its frames. Returns frames done."""
        frames: list[FrameMessage] = []
        images: list[np.ndarray] = []
        good: list[Delivery] = []
        for d in deliveries:
            try:
                frame = FrameMessage.from_fields(d.fields)
                image = decode_frame(frame)
            except MessageError as exc:
                dead_letter(self.queue, INFERENCE_GROUP, d, str(exc))
                continue
            frames.append(frame)
            images.append(image)
            good.append(d)
        if not good:
            return 0
        t0 = time.perf_counter()
        analyzed = self.analyzer.analyze_batch(images, [self.areas.get(f.camera_id) for f in frames])
        elapsed = time.perf_counter() - t0
        self.stats.busy_s += elapsed
        metrics.BATCH_SECONDS.observe(elapsed)
        metrics.BATCH_FRAMES.observe(len(good))
        for frame, faces in zip(frames, analyzed, strict=True):
            obs = tuple(FaceObservation(f.box, f.label, f.score, f.face_score, f.probs, f.embedding) for f in faces)
            # The recorder needs the image as a possible violation snapshot, and now and then as the
            # camera's live picture: most frames (empty or compliant) travel on without it.
            keep_image = any(f.label in VIOLATIONS for f in faces) or self._live_picture_due(frame)
            result = FrameResult(frame if keep_image else replace(frame, jpeg=b""), obs)
            # The bound is a last resort (run() holds back well before it): a trim here loses results.
            trimmed = self.queue.publish(RESULTS, result.to_fields(), 2 * self.settings.queue.results_maxlen)
            if trimmed:
                log.error("results queue over twice its bound: %d oldest results trimmed", trimmed)
            self.stats.faces += len(obs)
            metrics.FACES_PER_FRAME.observe(len(obs))
            metrics.RESULT_LATENCY.observe(max(0.0, time.time() - frame.captured_at))
        self.queue.ack(INFERENCE_GROUP, good)
        metrics.FRAMES_ANALYZED.inc(len(good))
        metrics.FACES_ANALYZED.inc(sum(len(f) for f in analyzed))
        self.stats.frames += len(good)
        self.stats.batches += 1
        return len(good)

    def _live_picture_due(self, frame: FrameMessage) -> bool:
        """Whether this frame's JPEG goes on as the camera's live picture (by the camera's own clock,
        so however many workers share a camera, about one frame per interval carries it)."""
        every = self.settings.snapshots.live_picture_s
        slot = int(frame.captured_at // every)
        if self._live_slots.get(frame.camera_id) == slot:
            return False
        self._live_slots[frame.camera_id] = slot
        return True

    def _report_lag(self) -> None:
        for stream in self.streams:
            metrics.QUEUE_BACKLOG.labels(stream.removeprefix(FRAMES_PREFIX)).set(self.queue.backlog(stream))

    def reconfigure(self, settings: Settings) -> None:
        """A reloaded configuration: read the camera streams it lists (taken up before the next batch),
        with their areas (from the next batch on)."""
        self.areas = {c.id: CameraAreas.of(c) for c in settings.cameras}
        self._new_streams = [frames_stream(c.id) for c in settings.cameras]

    def drained(self) -> bool:
        return all(self.queue.backlog(s) == 0 for s in self.streams)

    def _adopt_streams(self) -> None:
        if self._new_streams is None:
            return
        for stream in self._new_streams:
            self.queue.ensure_group(stream, INFERENCE_GROUP)
        # A removed camera's last backlog would stay exported and keep the autoscaler up.
        for gone in set(self.streams) - set(self._new_streams):
            with contextlib.suppress(KeyError):  # KeyError: never reported before the reload
                metrics.QUEUE_BACKLOG.remove(gone.removeprefix(FRAMES_PREFIX))
        self.streams = self.reclaimer.streams = self._new_streams
        self._new_streams = None

    def run(self, stop: threading.Event, block_ms: int = 500) -> None:
        backoff = 0.5
        outage = Outage(f"inference {self.consumer}: queue")
        full = Outage(f"inference {self.consumer}: results queue full (recorder behind or stopped); paused")
        last_lag = 0.0
        while not stop.is_set():
            try:
                self._adopt_streams()
                if time.monotonic() - last_lag >= LAG_REPORT_S:
                    self._report_lag()
                    last_lag = time.monotonic()
                # Back-pressure: results are never dropped. While the recorder is behind, frames wait in
                # the per-camera streams, whose bound drops the oldest there, counted per camera.
                if self.queue.backlog(RESULTS) >= self.settings.queue.results_maxlen:
                    full.failed(RuntimeError(f"{self.settings.queue.results_maxlen} results waiting"))
                    stop.wait(0.5)
                    continue
                full.ok()
                batch = self._collect(block_ms)
                if batch:
                    self.process(batch)
                backoff = 0.5
                outage.ok()
            except QueueError as exc:
                if "NOGROUP" in str(exc):  # Redis came back empty (no persistence): recreate the groups
                    self._new_streams = self._new_streams or list(self.streams)
                # Unacknowledged frames stay pending and are retried (or reclaimed by another worker).
                outage.failed(exc, RETRY_MAX_S)
                stop.wait(backoff)
                backoff = min(backoff * 2, RETRY_MAX_S)
        log.info(
            "inference worker %s stopped: %d frames, %d faces, %d batches, %.1f ms/frame",
            self.consumer,
            self.stats.frames,
            self.stats.faces,
            self.stats.batches,
            1000 * self.stats.busy_s / max(self.stats.frames, 1),
        )
