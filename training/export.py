"""TFLite export and the check that the exported file agrees with the Keras model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from maskwatch.inference.classifier import MaskClassifier


def export_tflite(model: keras.Model, path: Path, quantization: str, representative: np.ndarray) -> Path:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantization == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantization == "int8":

        def samples() -> Iterator[list[np.ndarray]]:
            for crop in representative[:200]:
                yield [crop[None].astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(converter.convert())
    return path


def tflite_agreement(model: keras.Model, tflite_path: Path, crops: np.ndarray) -> dict[str, float]:
    """Mean and largest probability difference, and top-1 agreement, between Keras and the TFLite file."""
    keras_probs = model.predict(crops.astype(np.float32), verbose=0, batch_size=64)
    lite_probs = MaskClassifier(tflite_path, batch_size=32).predict(crops)
    diff = np.abs(keras_probs - lite_probs)
    return {
        "mean_abs_prob_diff": float(np.mean(diff)),
        "max_abs_prob_diff": float(np.max(diff)),
        "top1_agreement": float(np.mean(keras_probs.argmax(1) == lite_probs.argmax(1))),
    }
