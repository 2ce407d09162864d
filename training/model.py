"""The classifier network: MobileNetV2 backbone, new three-class head."""

from __future__ import annotations

from pathlib import Path

import keras

from maskwatch.errors import ModelFileError
from maskwatch.labels import CLASSES


def build_model(input_size: int, alpha: float, weights: Path | None) -> tuple[keras.Model, keras.Model]:
    """Returns (model, backbone). The model takes float RGB in [0, 255] and outputs softmax probs.

    Scaling to [-1, 1] happens inside the model, so the exported TFLite file takes plain pixels.
    """
    if weights is not None and not weights.is_file():
        raise ModelFileError(f"pretrained weights {weights} do not exist (or set weights: null to train from scratch)")
    backbone = keras.applications.MobileNetV2(
        input_shape=(input_size, input_size, 3),
        alpha=alpha,
        include_top=False,
        weights=str(weights) if weights is not None else None,
    )
    inputs = keras.Input((input_size, input_size, 3), name="pixels")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0)(inputs)
    # training=False keeps BatchNorm statistics frozen even when the backbone is unfrozen,
    # which is what keeps fine-tuning on a few thousand faces stable.
    x = backbone(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.25)(x)
    outputs = keras.layers.Dense(len(CLASSES), activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="mask_classifier"), backbone
