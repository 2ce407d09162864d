"""Inference results as the record stage receives them: one camera, a masked and an unmasked
face in every frame, so that recording them yields exactly one violation."""

from __future__ import annotations

import cv2

from devtools.demo_media import DEMO_SCENES, render_scene
from maskwatch.messages import FaceObservation, FrameMessage, FrameResult
from maskwatch.queue import Queue
from maskwatch.streams import RESULTS

JPEG = cv2.imencode(".jpg", render_scene(DEMO_SCENES["entrance"]))[1].tobytes()
MASKED = FaceObservation((565.0, 185.0, 715.0, 335.0), "with_mask", 0.9, 0.95, {"with_mask": 0.95})
UNMASKED = FaceObservation((175.0, 185.0, 325.0, 335.0), "without_mask", 0.85, 0.95, {"without_mask": 0.9})


def publish_frames(queue: Queue, n: int, start: float = 1_790_000_000.0, camera: str = "cam-1") -> None:
    for i in range(n):
        frame = FrameMessage(camera, i, start + i * 0.5, 1280, 720, JPEG)
        queue.publish(RESULTS, FrameResult(frame, (MASKED, UNMASKED)).to_fields(), 10_000)
