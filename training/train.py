"""A training run: crops from the configured sources, two-phase transfer learning, export, reports."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import logging
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from maskwatch.labels import CLASSES
from maskwatch.training.config import TrainConfig
from maskwatch.training.sources import CropSet, DataError, load_sources

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    out_dir: Path
    keras_path: Path
    tflite_path: Path
    metrics: dict


def _crop_cache_key(config: TrainConfig) -> str:
    parts = [s.model_dump_json() for s in config.sources] + [str(config.input_size), config.detector.model_dump_json()]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _load_crops(config: TrainConfig) -> CropSet:
    """Crops are cached in the run folder: re-running with other hyper-parameters skips detection."""
    cache = config.out_dir / f"crops-{_crop_cache_key(config)}.npz"
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        log.info("reusing cached crops %s", cache)
        return CropSet(list(data["images"]), list(data["labels"]), list(data["groups"]), list(data["origins"]))
    crops = load_sources(config)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    np.savez(cache, images=np.stack(crops.images), labels=crops.labels, groups=crops.groups, origins=crops.origins)
    return crops


def split_by_group(groups: list[str], val_fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of validation items; a whole source image goes to one side."""
    buckets = [int(hashlib.sha256(f"{seed}:{g}".encode()).hexdigest()[:8], 16) % 10_000 for g in groups]
    return np.array(buckets) < val_fraction * 10_000


def class_weights(labels: np.ndarray, power: float = 1.0) -> dict[int, float]:
    """Balanced class weights raised to `power` (0: all ones, 1: fully balanced)."""
    counts = np.bincount(labels, minlength=len(CLASSES)).astype(float)
    present = counts > 0
    weights = np.zeros_like(counts)
    weights[present] = (counts[present].sum() / (present.sum() * counts[present])) ** power
    return {i: float(w) for i, w in enumerate(weights)}


def _accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    probs = model.predict(x.astype(np.float32), verbose=0, batch_size=128)
    return float(np.mean(probs.argmax(1) == y))


def run_training(config: TrainConfig, command: str | None = None) -> TrainResult:
    # TensorFlow is imported here, not at module level: only `maskwatch train` needs it.
    import keras
    import tensorflow as tf

    from maskwatch.training.augment import augment
    from maskwatch.training.export import export_tflite, tflite_agreement
    from maskwatch.training.model import build_model
    from maskwatch.training.report import (
        classification_metrics,
        plot_confusion,
        plot_history,
        write_json,
        write_model_card,
    )

    keras.utils.set_random_seed(config.seed)
    crops = _load_crops(config)
    images = np.stack(crops.images)
    labels = np.array(crops.labels, dtype=np.int64)
    is_val = split_by_group(crops.groups, config.val_fraction, config.seed)
    if is_val.all() or not is_val.any():
        raise DataError("the validation split is empty or takes everything; use more data or change val_fraction")
    x_train, y_train = images[~is_val], labels[~is_val]
    x_val, y_val = images[is_val], labels[is_val]
    log.info(
        "crops: %d train, %d validation, per class (train) %s",
        len(y_train),
        len(y_val),
        np.bincount(y_train, minlength=3).tolist(),
    )

    size = config.input_size
    train_ds = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .shuffle(len(y_train), seed=config.seed, reshuffle_each_iteration=True)
        .map(lambda x, y: (augment(tf.cast(x, tf.float32), size), y), num_parallel_calls=tf.data.AUTOTUNE)
        .batch(config.batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    val_ds = tf.data.Dataset.from_tensor_slices((x_val.astype(np.float32), y_val)).batch(config.batch_size)

    model, backbone = build_model(size, config.alpha, config.weights)
    weights = class_weights(y_train, config.class_weight_power)
    log.info("class weights: %s", weights)
    verbose = 1 if sys.stdout.isatty() else 2
    history: dict[str, list[float]] = collections.defaultdict(list)

    def fit(epochs: int, lr: float | keras.optimizers.schedules.LearningRateSchedule) -> None:
        if epochs <= 0:
            return
        model.compile(
            optimizer=keras.optimizers.Adam(lr),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        h = model.fit(train_ds, validation_data=val_ds, epochs=epochs, class_weight=weights, verbose=verbose)
        for k, v in h.history.items():
            history[k].extend(float(x) for x in v)

    backbone.trainable = False
    fit(config.epochs_head, config.lr_head)
    backbone.trainable = True
    steps = config.epochs_finetune * int(np.ceil(len(y_train) / config.batch_size))
    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    start = model.get_weights()
    members: list[list[np.ndarray]] = []
    member_accuracy: list[float] = []
    for k in range(config.soup_members):
        model.set_weights(start)
        fit(config.epochs_finetune, keras.optimizers.schedules.CosineDecay(config.lr_finetune, max(steps, 1)))
        members.append(model.get_weights())
        if config.soup_members > 1:
            member_accuracy.append(_accuracy(model, x_val, y_val))
            log.info("soup member %d of %d: val accuracy %.4f", k + 1, config.soup_members, member_accuracy[-1])
            # Each member is kept as a model of its own, so the soup can be compared with its members on scenes.
            (out / "members").mkdir(exist_ok=True)
            model.save_weights(out / "members" / f"member-{k + 1}.weights.h5")
            export_tflite(model, out / "members" / f"member-{k + 1}.tflite", config.quantization, x_train)
    if len(members) > 1:
        # BatchNorm statistics stay ImageNet's (frozen), so plain averaging needs no recalibration.
        model.set_weights([np.mean(layer, axis=0) for layer in zip(*members, strict=True)])
    keras_path = out / "mask_classifier.keras"
    model.save(keras_path)
    tflite_path = export_tflite(model, out / "mask_classifier.tflite", config.quantization, x_train)
    agreement = tflite_agreement(model, tflite_path, x_val[:256])

    probs = model.predict(x_val.astype(np.float32), verbose=0, batch_size=128)
    metrics = classification_metrics(y_val, probs.argmax(1))
    metrics["tflite_agreement"] = agreement
    if member_accuracy:
        metrics["soup"] = {"members": len(member_accuracy), "member_val_accuracy": member_accuracy}
    write_json(out / "metrics.json", metrics)
    write_json(out / "history.json", dict(history))
    plot_confusion(metrics["confusion_matrix"], out / "confusion_matrix.png")
    restarts = [config.epochs_head + k * config.epochs_finetune for k in range(1, config.soup_members)]
    plot_history(history, out / "training_curves.png", restarts)
    origins = collections.Counter(np.array(crops.origins)[~is_val].tolist())
    write_model_card(
        out / "MODEL_CARD.md",
        {
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "alpha": config.alpha,
            "input_size": size,
            "weights": config.weights.name if config.weights else None,
            "quantization": config.quantization,
            "tflite_bytes": tflite_path.stat().st_size,
            "agreement": agreement,
            "labels": list(CLASSES),
            "command": command or "maskwatch train --config <file>",
            "n_train": len(y_train),
            "n_val": len(y_val),
            "crops_by_origin": dict(sorted(origins.items())),
            "metrics": metrics,
        },
    )
    log.info("training done: %s (val accuracy %.4f)", out, metrics["accuracy"])
    return TrainResult(out, keras_path, tflite_path, metrics)


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in ["maskwatch", *sys.argv[1:]])
