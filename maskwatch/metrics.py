"""Prometheus metrics, served by each maskwatch process when `metrics.port` is set."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)

FRAMES_SENT = Counter("maskwatch_frames_sent_total", "Sampled frames queued for inference", ["camera"])
FRAMES_DROPPED = Counter(
    "maskwatch_frames_dropped_total", "Frames dropped because the queue was full or unreachable", ["camera"]
)
CAMERA_UP = Gauge("maskwatch_camera_up", "1 while the camera is online, else 0", ["camera"])
CAMERA_STATE = Gauge("maskwatch_camera_state", "1 for the camera's current state, else 0", ["camera", "state"])
FRAMES_DECODED = Counter("maskwatch_frames_decoded_total", "Frames decoded from the camera stream", ["camera"])
FRAMES_SAMPLED = Counter("maskwatch_frames_sampled_total", "Frames picked at sample_fps", ["camera"])
DECODE_ERRORS = Counter(
    "maskwatch_decode_errors_total", "Streams that failed mid-decode, and frames that failed to encode", ["camera"]
)
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
BATCH_FRAMES = Histogram(
    "maskwatch_inference_batch_frames", "Frames per inference batch", buckets=(1, 2, 4, 8, 16, 32, 64)
)
FACES_PER_FRAME = Histogram("maskwatch_faces_per_frame", "Faces found per frame", buckets=(0, 1, 2, 4, 8, 16, 32))
RESULT_LATENCY = Histogram(
    "maskwatch_result_latency_seconds",
    "Capture to result published (queueing + inference)",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60),
)
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
OUTAGE = Gauge(
    "maskwatch_outage", "1 while a stage waits for a dependency (queue, database, snapshot disk) and retries", ["what"]
)
ALERTS = Counter("maskwatch_alert_attempts_total", "Alert delivery attempts by outcome", ["channel", "outcome"])


Check = Callable[[], tuple[bool, dict[str, str]]]


def serve(port: int, address: str, live: Check, ready: Check) -> ThreadingHTTPServer | None:
    """/metrics for Prometheus, /healthz (the process works: liveness) and /readyz (its queue
    and database answer: readiness), each 200 or 503 with a JSON body saying what failed."""
    if not port:
        return None

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
            elif path in ("/healthz", "/readyz"):
                ok, detail = (live if path == "/healthz" else ready)()
                body = json.dumps({"ok": ok, **detail}).encode()
                self._send(200 if ok else 503, body, "application/json")
            else:
                self._send(404, b"not found: try /metrics, /healthz or /readyz\n", "text/plain")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # probes every few seconds are not news
            pass

    server = ThreadingHTTPServer((address, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    log.info("metrics and health on http://%s:%d/ (/metrics, /healthz, /readyz)", address, port)
    return server
