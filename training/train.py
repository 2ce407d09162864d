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


@dataclass(frozen=True)
class _Split:
    """Crops split by source image: training and validation never share a photo."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    train_origins: collections.Counter[str]


def _split(config: TrainConfig, crops: CropSet) -> _Split:
    images = np.stack(crops.images)
    labels = np.array(crops.labels, dtype=np.int64)
    is_val = split_by_group(crops.groups, config.val_fraction, config.seed)
    if is_val.all() or not is_val.any():
        raise DataError("the validation split is empty or takes everything; use more data or change val_fraction")
    split = _Split(
        images[~is_val],
        labels[~is_val],
        images[is_val],
        labels[is_val],
        collections.Counter(np.array(crops.origins)[~is_val].tolist()),
    )
    log.info(
        "crops: %d train, %d validation, per class (train) %s",
        len(split.y_train),
        len(split.y_val),
        np.bincount(split.y_train, minlength=3).tolist(),
    )
    return split


class _Fitter:
    """Fits the model on the split's augmented training set, keeping the whole history."""

    def __init__(self, config: TrainConfig, model: keras.Model, split: _Split) -> None:
        import tensorflow as tf

        from maskwatch.training.augment import augment

        size = config.input_size
        self.model = model
        self.train_ds = (
            tf.data.Dataset.from_tensor_slices((split.x_train, split.y_train))
            .shuffle(len(split.y_train), seed=config.seed, reshuffle_each_iteration=True)
            .map(lambda x, y: (augment(tf.cast(x, tf.float32), size), y), num_parallel_calls=tf.data.AUTOTUNE)
            .batch(config.batch_size)
            .prefetch(tf.data.AUTOTUNE)
        )
        self.val_ds = tf.data.Dataset.from_tensor_slices((split.x_val.astype(np.float32), split.y_val)).batch(
            config.batch_size
        )
        self.weights = class_weights(split.y_train, config.class_weight_power)
        log.info("class weights: %s", self.weights)
        self.verbose = 1 if sys.stdout.isatty() else 2
        self.history: dict[str, list[float]] = collections.defaultdict(list)

    def fit(self, epochs: int, lr: float | keras.optimizers.schedules.LearningRateSchedule) -> None:
        import keras

        if epochs <= 0:
            return
        self.model.compile(
            optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        h = self.model.fit(
            self.train_ds, validation_data=self.val_ds, epochs=epochs, class_weight=self.weights, verbose=self.verbose
        )
        for k, v in h.history.items():
            self.history[k].extend(float(x) for x in v)


def _fine_tune_soup(config: TrainConfig, fitter: _Fitter, split: _Split) -> list[float]:
    """Fine-tunes `soup_members` times from the same head-trained start and averages the weights;
    returns each member's validation accuracy (none for a single member)."""
    import keras

    from maskwatch.training.export import export_tflite

    model, out = fitter.model, config.out_dir
    steps = config.epochs_finetune * int(np.ceil(len(split.y_train) / config.batch_size))
    start = model.get_weights()
    members: list[list[np.ndarray]] = []
    member_accuracy: list[float] = []
    for k in range(config.soup_members):
        model.set_weights(start)
        fitter.fit(config.epochs_finetune, keras.optimizers.schedules.CosineDecay(config.lr_finetune, max(steps, 1)))
        members.append(model.get_weights())
        if config.soup_members > 1:
            member_accuracy.append(_accuracy(model, split.x_val, split.y_val))
            log.info("soup member %d of %d: val accuracy %.4f", k + 1, config.soup_members, member_accuracy[-1])
            # Each member is kept as a model of its own, so the soup can be compared with its members on scenes.
            (out / "members").mkdir(exist_ok=True)
            model.save_weights(out / "members" / f"member-{k + 1}.weights.h5")
            export_tflite(model, out / "members" / f"member-{k + 1}.tflite", config.quantization, split.x_train)
    if len(members) > 1:
        # BatchNorm statistics stay ImageNet's (frozen), so plain averaging needs no recalibration.
        model.set_weights([np.mean(layer, axis=0) for layer in zip(*members, strict=True)])
    return member_accuracy


def _report(
    config: TrainConfig, fitter: _Fitter, split: _Split, tflite_path: Path, member_accuracy: list[float], command: str
) -> dict:
    """Metrics, history, plots and the model card, in the run folder."""
    from maskwatch.training.export import tflite_agreement
    from maskwatch.training.report import (
        classification_metrics,
        plot_confusion,
        plot_history,
        write_json,
        write_model_card,
    )

    out, model = config.out_dir, fitter.model
    agreement = tflite_agreement(model, tflite_path, split.x_val[:256])
    probs = model.predict(split.x_val.astype(np.float32), verbose=0, batch_size=128)
    metrics = classification_metrics(split.y_val, probs.argmax(1))
    metrics["tflite_agreement"] = agreement
    if member_accuracy:
        metrics["soup"] = {"members": len(member_accuracy), "member_val_accuracy": member_accuracy}
    write_json(out / "metrics.json", metrics)
    write_json(out / "history.json", dict(fitter.history))
    plot_confusion(metrics["confusion_matrix"], out / "confusion_matrix.png")
    restarts = [config.epochs_head + k * config.epochs_finetune for k in range(1, config.soup_members)]
    plot_history(fitter.history, out / "training_curves.png", restarts)
    write_model_card(
        out / "MODEL_CARD.md",
        {
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "alpha": config.alpha,
            "input_size": config.input_size,
            "weights": config.weights.name if config.weights else None,
            "quantization": config.quantization,
            "tflite_bytes": tflite_path.stat().st_size,
            "agreement": agreement,
            "labels": list(CLASSES),
            "command": command,
            "n_train": len(split.y_train),
            "n_val": len(split.y_val),
            "crops_by_origin": dict(sorted(split.train_origins.items())),
            "metrics": metrics,
        },
    )
    return metrics


def run_training(config: TrainConfig, command: str | None = None) -> TrainResult:
    # TensorFlow is imported here, not at module level: only `maskwatch train` needs it.
    import keras

    from maskwatch.training.export import export_tflite
    from maskwatch.training.model import build_model

    keras.utils.set_random_seed(config.seed)
    split = _split(config, _load_crops(config))
    model, backbone = build_model(config.input_size, config.alpha, config.weights)
    fitter = _Fitter(config, model, split)
    backbone.trainable = False
    fitter.fit(config.epochs_head, config.lr_head)
    backbone.trainable = True
    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    member_accuracy = _fine_tune_soup(config, fitter, split)
    keras_path = out / "mask_classifier.keras"
    model.save(keras_path)
    tflite_path = export_tflite(model, out / "mask_classifier.tflite", config.quantization, split.x_train)
    metrics = _report(config, fitter, split, tflite_path, member_accuracy, command or "maskwatch train --config <file>")
    log.info("training done: %s (val accuracy %.4f)", out, metrics["accuracy"])
    return TrainResult(out, keras_path, tflite_path, metrics)


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in ["maskwatch", *sys.argv[1:]])
