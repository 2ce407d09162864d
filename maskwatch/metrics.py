"""Prometheus metrics, served by each maskwatch process when `metrics.port` is set."""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)

FRAMES_SENT = Counter("maskwatch_frames_sent_total", "Sampled frames queued for inference", ["camera"])
FRAMES_DROPPED = Counter(
    "maskwatch_frames_dropped_total", "Frames dropped because the queue was full or unreachable", ["camera"]
)
CAMERA_UP = Gauge("maskwatch_camera_up", "1 while the camera is online, else 0", ["camera"])
RECONNECTS = Counter(
    "maskwatch_camera_reconnects_total", "Reconnect attempts after a failed or stalled stream", ["camera"]
)
FRAMES_MOTION_SKIPPED = Counter(
    "maskwatch_frames_motion_skipped_total", "Sampled frames not sent because nothing moved", ["camera"]
)
QUEUE_BACKLOG = Gauge(
    "maskwatch_frames_backlog", "Frames queued for inference and not yet done (consumer lag)", ["camera"]
)
FRAMES_ANALYZED = Counter("maskwatch_frames_analyzed_total", "Frames through detection and classification")
FACES_ANALYZED = Counter("maskwatch_faces_analyzed_total", "Faces found and classified")
BATCH_SECONDS = Histogram(
    "maskwatch_inference_batch_seconds",
    "Detection + classification time per batch",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
VIOLATIONS = Counter("maskwatch_violations_total", "Confirmed violations recorded", ["camera", "label"])
FRAMES_RECORDED = Counter(
    "maskwatch_frames_recorded_total", "Frame results recorded (duplicates from redelivery excluded)", ["camera"]
)
PEOPLE = Counter("maskwatch_people_evaluated_total", "People (tracks) evaluated", ["camera"])
ALERTS = Counter("maskwatch_alert_attempts_total", "Alert delivery attempts by outcome", ["channel", "outcome"])


def serve(port: int, address: str) -> None:
    if port:
        start_http_server(port, addr=address)
        log.info("metrics on http://%s:%d/metrics", address, port)
