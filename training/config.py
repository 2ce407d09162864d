"""Training run configuration (YAML, validated like the service config)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from maskwatch.config import ConfigError, DetectorConfig, format_validation_error


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Model):
    kind: Literal["folders", "voc", "photos", "synthetic"] = Field(
        description="folders: one sub-folder of face crops per class; voc: PASCAL VOC scenes; "
        "photos: a folder of photos that all show one class (faces cropped with the detector); "
        "synthetic: a folder of unmasked face crops, each given a painted mask over the nose (with_mask) "
        "and one below it (mask_incorrect)."
    )
    path: Path = Field(description="Root folder of the source.")
    split: Path | None = Field(None, description="voc only: file listing the image stems to use.")
    label: str | None = Field(None, description="photos only: the class every face in the folder has.")
    limit: int | None = Field(None, ge=1, description="Use at most this many images (quick runs, CI).")


class TrainConfig(_Model):
    sources: list[SourceConfig] = Field(min_length=1, description="Where training faces come from.")
    out_dir: Path = Field(Path("runs/train"), description="Folder for the model, plots, metrics and card.")
    weights: Path | None = Field(
        None, description="Keras ImageNet MobileNetV2 no-top .h5 matching alpha; None trains from scratch."
    )
    alpha: float = Field(0.35, description="MobileNetV2 width multiplier (0.35, 0.5, 0.75, 1.0).")
    input_size: int = Field(128, ge=64, le=224, description="Square classifier input, px.")
    batch_size: int = Field(64, ge=4, le=512)
    epochs_head: int = Field(2, ge=0, le=100, description="Epochs training the new head on a frozen backbone.")
    epochs_finetune: int = Field(8, ge=0, le=200, description="Epochs fine-tuning the whole network.")
    soup_members: int = Field(
        1,
        ge=1,
        le=8,
        description="Fine-tune this many times from the same head-trained start (each with its own shuffling and "
        "augmentation) and average the weights (a 'model soup'): one model's cost at inference, less of one "
        "run's luck. 1 is a single run.",
    )
    lr_head: float = Field(1e-3, gt=0, le=1)
    lr_finetune: float = Field(1e-4, gt=0, le=1)
    class_weight_power: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Class weights are (balanced weight) ** power: 1 fully balances the classes, 0 ignores "
        "imbalance. Full balancing over-predicts the rare mask_incorrect class on real scenes.",
    )
    val_fraction: float = Field(0.15, gt=0, lt=0.5, description="Share of images (not crops) held out.")
    seed: int = Field(0, description="Seeds the split, shuffling and augmentation.")
    quantization: Literal["float16", "int8", "float32"] = Field("float16", description="TFLite export type.")
    detector: DetectorConfig = Field(
        default_factory=DetectorConfig,
        description="Detector used to crop faces from scenes and photos (use the inference default).",
    )
    min_face_px: int = Field(10, ge=1, description="Skip ground-truth faces shorter than this.")


def load_train_config(path: Path) -> TrainConfig:
    if not path.is_file():
        raise ConfigError(f"{path}: no such training config")
    try:
        data = yaml.safe_load(path.read_text())
        return TrainConfig.model_validate(data or {})
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid training config\n{format_validation_error(exc)}") from None
