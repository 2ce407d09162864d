"""The naive pipeline the original face-mask scripts use, for a side-by-side benchmark
(`maskwatch bench --cameras K --baseline`): one process per camera, OpenCV `VideoCapture`
decoding every frame, the face detector on each sampled frame, and Keras `model.predict` on
each face with MobileNetV2-1.0 at 224x224. Implemented faithfully, not crippled: same
detector, same sampling; only the parts the scripts do differently differ.

Run as `python -m devtools.bench.baseline URL SAMPLE_FPS SECONDS DETECTOR_JSON`; prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import cv2
import numpy as np


def keras_classifier() -> Any:
    import tensorflow as tf  # optional: the train extra

    # The scripts' model: MobileNetV2 (alpha 1.0, 224 px) with a small head. Weights do not
    # change the cost, so ImageNet ones (not on this machine for alpha 1.0) are not needed.
    base = tf.keras.applications.MobileNetV2(input_shape=(224, 224, 3), alpha=1.0, include_top=False, weights=None)
    x = tf.keras.layers.GlobalAveragePooling2D()(base.output)
    x = tf.keras.layers.Dense(128, activation="relu")(x)
    out = tf.keras.layers.Dense(3, activation="softmax")(x)
    return tf.keras.Model(base.input, out)


def run(url: str, sample_fps: float, seconds: float, detector_cfg: dict) -> dict[str, float]:
    from maskwatch.config import DetectorConfig
    from maskwatch.inference.detector import FaceDetector

    detector = FaceDetector(DetectorConfig.model_validate(detector_cfg))
    model = keras_classifier()
    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise SystemExit(f"cannot open {url}")
    start, cpu0 = time.monotonic(), time.process_time()
    stream_start: float | None = None
    next_t, frames, sampled, faces, lag = 0.0, 0, 0, 0, 0.0
    while time.monotonic() - start < seconds:
        ok, frame = cap.read()  # decodes every frame
        if not ok:
            break
        frames += 1
        t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000
        stream_start = t if stream_start is None else stream_start
        rel = t - stream_start
        lag = (time.monotonic() - start) - rel  # how far behind the live stream it has fallen
        if rel + 1e-6 < next_t:
            continue
        next_t = max(next_t + 1 / sample_fps, rel)
        sampled += 1
        for face in detector.detect(frame):
            x1, y1, x2, y2 = (int(v) for v in face.box)
            crop = frame[max(0, y1) : max(y2, y1 + 1), max(0, x1) : max(x2, x1 + 1)]
            if crop.size == 0:
                continue
            rgb = cv2.cvtColor(cv2.resize(crop, (224, 224)), cv2.COLOR_BGR2RGB)
            model.predict(np.expand_dims(rgb.astype(np.float32) / 127.5 - 1, 0), verbose=0)  # one face at a time
            faces += 1
    elapsed, cpu = time.monotonic() - start, time.process_time() - cpu0
    cap.release()
    return {"elapsed_s": elapsed, "cpu_s": cpu, "frames": frames, "sampled": sampled, "faces": faces, "lag_s": lag}


if __name__ == "__main__":
    result = run(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4]))
    print(json.dumps(result), flush=True)
