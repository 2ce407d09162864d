"""`cameras`: each camera's source, sampling, motion gating and the areas it watches or ignores."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, field_validator, model_serializer, model_validator

from maskwatch.config.base import RELATIVE_PATHS, Section
from maskwatch.redact import redact_url

CAMERA_SCHEMES = ("rtsp", "rtsps", "http", "https")


class MotionConfig(Section):
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


class AreaConfig(Section):
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


class CameraConfig(Section):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Stable id: letters, digits, _ . -")
    name: str = Field(
        min_length=1, max_length=200, description="Shown in alerts and the review log; no control characters."
    )
    url: str = Field(
        min_length=1,
        description="rtsp://, rtsps://, http(s)://, a video file path, or a device index such as 0; no other "
        "protocol (FFmpeg's file:, concat:, subfile, ...). Credentials in the URL are never logged; use ${VAR} to "
        f"keep them out of the file. {RELATIVE_PATHS}",
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

    @field_validator("name")
    @classmethod
    def _printable_name(cls, v: str) -> str:
        if has_control_characters(v):
            # The name goes into e-mail subjects and log lines, where a line break starts a new header or line.
            raise ValueError("name must not contain control characters (line breaks, tabs, escapes)")
        return v

    @field_validator("url")
    @classmethod
    def _supported_source(cls, v: str) -> str:
        if has_control_characters(v):  # a line break would reach the RTSP or HTTP request
            raise ValueError("url must not contain control characters (line breaks, tabs, escapes)")
        protocol = unsupported_protocol(v)
        if protocol is not None:
            missing = missing_scheme(v)
            if missing is not None:
                raise ValueError(
                    f"no scheme: did you mean {missing}? (a camera's address starts with "
                    f"{', '.join(f'{s}://' for s in CAMERA_SCHEMES)})"
                )
            # The URL may hold a password: name only the protocol.
            raise ValueError(
                f"unsupported protocol {protocol!r}: use {', '.join(f'{s}://' for s in CAMERA_SCHEMES)}, "
                "a file path (./name for one that starts with `word:` or `word,`) or a device index such as 0"
            )
        return v


def has_control_characters(text: str) -> bool:
    """C0 and C1 control characters (CR, LF, tab, NUL, ESC...), DEL, and Unicode line and paragraph separators."""
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text)


# FFmpeg takes what precedes the first `:` (or `subfile,`) of a source as a protocol name when it is
# made of these characters: `file:/etc/passwd`, `concat:a|b`, `subfile,,start,0,end,0,,:x`,
# `data:`, `crypto:` would all open, whatever maskwatch meant.
_PROTOCOL_PREFIX = re.compile(r"^([A-Za-z0-9+.-]+)[:,]")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


# `host:port/path` or `user:pw@host:port/path` without a scheme: FFmpeg would take the host for a
# protocol name. A dot, `localhost` or a port of two digits or more tells it from `pipe:0`.
_HOST_PORT = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[A-Za-z0-9.-]+):(?P<port>\d{1,5})(?:[/?]|$)")


def missing_scheme(url: str) -> str | None:
    """For a camera address written without its scheme, the rtsp:// one it most likely means,
    its password masked; else None."""
    found = _HOST_PORT.match(url)
    if found is None:
        return None
    host, port = found.group("host"), found.group("port")
    if "." not in host and host.lower() != "localhost" and len(port) < 2:
        return None
    return redact_url(f"rtsp://{url}")


def unsupported_protocol(url: str) -> str | None:
    """The protocol prefix of a camera source FFmpeg would honour and maskwatch does not mean, if any."""
    prefix = _PROTOCOL_PREFIX.match(url)
    if prefix is None or _WINDOWS_DRIVE.match(url):
        return None
    name = prefix.group(1)
    if name.lower() in CAMERA_SCHEMES and url[len(name) : len(name) + 3] == "://":
        return None
    return name
