"""Typed messages between stages. Stages only ever exchange these, over a `maskwatch.queue`.

Each message encodes to queue fields: a JSON `meta` field plus raw binary fields (JPEG bytes
travel as they are, not base64).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from maskwatch.errors import MaskwatchError

SCHEMA_VERSION = 1


class MessageError(MaskwatchError):
    """A queue entry is not a valid maskwatch message (wrong fields, version or JSON)."""


def _meta(fields: Mapping[str, bytes], kind: str) -> dict[str, Any]:
    try:
        meta = json.loads(fields["meta"])
    except (KeyError, ValueError) as exc:
        raise MessageError(f"{kind}: missing or malformed 'meta' field ({exc})") from None
    if not isinstance(meta, dict):
        raise MessageError(f"{kind}: 'meta' is {type(meta).__name__}, not an object")
    if meta.get("v") != SCHEMA_VERSION:
        raise MessageError(f"{kind}: schema version {meta.get('v')!r}, expected {SCHEMA_VERSION}")
    return meta


def _binary(fields: Mapping[str, bytes], name: str, kind: str) -> bytes:
    try:
        return bytes(fields[name])
    except KeyError:
        raise MessageError(f"{kind}: missing '{name}' field") from None


@dataclass(frozen=True)
class FrameMessage:
    """A sampled camera frame, JPEG-encoded (ingest → inference)."""

    camera_id: str
    seq: int  # per-camera sequence number; gaps mean frames were dropped
    captured_at: float  # UTC epoch seconds, from the stream's timestamps
    width: int
    height: int
    jpeg: bytes = field(repr=False)
    #: The picture changed as a whole since the camera's last frame (a cut between scenes, a PTZ
    #: camera moving to another preset): a face now is not the face that was at its place before.
    scene_cut: bool = False

    def to_fields(self) -> dict[str, bytes]:
        meta = {"v": SCHEMA_VERSION, **{k: v for k, v in asdict(self).items() if k != "jpeg"}}
        return {"meta": json.dumps(meta).encode(), "jpeg": self.jpeg}

    @classmethod
    def from_fields(cls, fields: Mapping[str, bytes]) -> FrameMessage:
        m = _meta(fields, "frame")
        try:
            return cls(
                str(m["camera_id"]),
                int(m["seq"]),
                float(m["captured_at"]),
                int(m["width"]),
                int(m["height"]),
                _binary(fields, "jpeg", "frame"),
                bool(m.get("scene_cut", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MessageError(f"frame: bad meta field ({exc!r})") from None


@dataclass(frozen=True)
class FaceObservation:
    box: tuple[float, float, float, float]
    label: str
    score: float
    face_score: float
    probs: Mapping[str, float]
    #: How the person around the face looks (maskwatch.appearance), for telling people apart;
    #: empty from a sender that computes none, and the tracker then goes by motion alone.
    embedding: tuple[float, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["embedding"] = [round(v, 3) for v in self.embedding]
        return out


@dataclass(frozen=True)
class FrameResult:
    """The faces found in one frame, with the frame itself for snapshots (inference → recorder)."""

    frame: FrameMessage
    faces: tuple[FaceObservation, ...]

    def to_fields(self) -> dict[str, bytes]:
        fields = self.frame.to_fields()
        meta = json.loads(fields["meta"])
        meta["faces"] = [f.to_json() for f in self.faces]
        fields["meta"] = json.dumps(meta).encode()
        return fields

    @classmethod
    def from_fields(cls, fields: Mapping[str, bytes]) -> FrameResult:
        frame = FrameMessage.from_fields(fields)
        try:
            faces = tuple(
                FaceObservation(
                    tuple(f["box"]),
                    f["label"],
                    float(f["score"]),
                    float(f["face_score"]),
                    dict(f["probs"]),
                    tuple(float(v) for v in f.get("embedding", ())),
                )
                for f in _meta(fields, "result")["faces"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MessageError(f"result: bad faces field ({exc!r})") from None
        return cls(frame, faces)


# A camera's states. The first three are "down" (not being watched); after a grace period a
# down camera raises a camera_offline alert. `finished` (a recording played to its end) and
# `stopped` (maskwatch itself shut down) are not camera faults and raise nothing.
DOWN_STATES = ("connecting", "stalled", "offline")
CAMERA_STATES = ("online", *DOWN_STATES, "disabled", "finished", "stopped")


@dataclass(frozen=True)
class CameraHealth:
    """A camera's state as the ingest watchdog sees it (ingest → recorder, for the cameras table)."""

    camera_id: str
    state: str  # one of CAMERA_STATES
    detail: str  # operator-readable reason, never containing credentials
    frames_sent: int
    frames_dropped: int
    at: float

    def to_fields(self) -> dict[str, bytes]:
        return {"meta": json.dumps({"v": SCHEMA_VERSION, **asdict(self)}).encode()}

    @classmethod
    def from_fields(cls, fields: Mapping[str, bytes]) -> CameraHealth:
        m = _meta(fields, "health")
        m.pop("v")
        try:
            health = cls(**m)
        except TypeError as exc:
            raise MessageError(f"health: bad meta ({exc})") from None
        if health.state not in CAMERA_STATES:
            raise MessageError(f"health: unknown camera state {health.state!r}")
        return health
