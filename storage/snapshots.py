"""Violation snapshots on disk: the annotated full frame, the face crop, and a few small context
pictures of the person from the frames around the confirmation, as JPEG files.

Everyone in the frame but the violator is blurred: they did nothing wrong. An unblurred copy is
kept only where the operator asks for it (`snapshots.keep_original`), beside the frame."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from maskwatch.annotate import blur_faces, draw_caption, draw_faces
from maskwatch.boxes import square_crop_box
from maskwatch.errors import MaskwatchError
from maskwatch.messages import FaceObservation, FrameMessage

log = logging.getLogger(__name__)


class SnapshotError(MaskwatchError):
    """A snapshot could not be decoded or written."""


CONTEXT_SIDE = 240  # pixels, the longer side of a context picture: enough to see a mask, small to keep
CONTEXT_QUALITY = 80
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class SnapshotPaths:
    frame: Path
    crop: Path


@dataclass(frozen=True)
class ContextShot:
    """One sighting of the person to keep as context: the frame, their face, the faces to blur."""

    frame: FrameMessage
    face: FaceObservation
    others: Sequence[Box] = ()


@dataclass(frozen=True)
class ContextPicture:
    path: Path
    captured_at: float
    label: str
    score: float
    box: Box  # the violator's face in the stored picture, pixels (blurred for viewers by the console)


def context_window(face: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """The part of a frame that shows a person: three face widths wide, centred a little below the
    face (head and shoulders), moved rather than cut at the frame's edges."""
    x1, y1, x2, y2 = face
    side = min(round(3 * max(x2 - x1, y2 - y1)), width, height)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2 + (y2 - y1) / 2
    left = min(max(round(cx - side / 2), 0), width - side)
    top = min(max(round(cy - side / 2), 0), height - side)
    return left, top, left + side, top + side


def original_of(frame_path: str | Path) -> Path:
    """Where the unblurred copy of a snapshot frame is (if `snapshots.keep_original` kept one)."""
    path = Path(frame_path)
    return path.with_name(path.name.replace("-frame.jpg", "-original.jpg"))


class SnapshotStore:
    def __init__(self, root: Path, jpeg_quality: int = 90, keep_original: bool = False) -> None:
        self.root = root.resolve()
        self.quality = jpeg_quality
        self.keep_original = keep_original

    def save(
        self,
        camera_id: str,
        track_id: str,
        frame: FrameMessage,
        face: FaceObservation,
        others: Sequence[Box] = (),
        caption: str = "",
    ) -> SnapshotPaths:
        """The annotated frame (with `caption`, the camera and time, burnt in) and the face crop."""
        image = _decoded(camera_id, frame)
        folder = self._folder(camera_id, frame.captured_at)
        paths = SnapshotPaths(folder / f"{track_id}-frame.jpg", folder / f"{track_id}-face.jpg")
        if self.keep_original:
            self._write(original_of(paths.frame), _annotated(image, face, caption))
        shown = blur_faces(image, others)
        h, w = shown.shape[:2]
        x1, y1, x2, y2 = square_crop_box(face.box, 0.3)
        crop = shown[max(0, y1) : min(h, y2), max(0, x1) : min(w, x2)]
        self._write(paths.frame, _annotated(shown, face, caption))
        self._write(paths.crop, crop)
        return paths

    def save_context(self, camera_id: str, track_id: str, shots: Sequence[ContextShot]) -> list[ContextPicture]:
        """Small pictures of the person in each of `shots`, bystanders blurred, in capture order."""
        saved: list[ContextPicture] = []
        for i, shot in enumerate(sorted(shots, key=lambda s: s.frame.captured_at)):
            decoded = (
                cv2.imdecode(np.frombuffer(shot.frame.jpeg, np.uint8), cv2.IMREAD_COLOR) if shot.frame.jpeg else None
            )
            if decoded is None:  # context is a courtesy: a frame it cannot show must not cost the violation
                log.warning("camera %s frame %d: no picture for the context strip", camera_id, shot.frame.seq)
                continue
            image = blur_faces(decoded, shot.others)
            h, w = image.shape[:2]
            left, top, right, bottom = context_window(shot.face.box, w, h)
            scale = min(1.0, CONTEXT_SIDE / max(right - left, 1))
            small = cv2.resize(image[top:bottom, left:right], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            x1, y1, x2, y2 = shot.face.box
            box = ((x1 - left) * scale, (y1 - top) * scale, (x2 - left) * scale, (y2 - top) * scale)
            path = self._folder(camera_id, shot.frame.captured_at) / f"{track_id}-context-{i}.jpg"
            self._write(path, small, CONTEXT_QUALITY)
            rounded = (round(box[0], 1), round(box[1], 1), round(box[2], 1), round(box[3], 1))
            saved.append(ContextPicture(path, shot.frame.captured_at, shot.face.label, shot.face.score, rounded))
        return saved

    def _folder(self, camera_id: str, captured_at: float) -> Path:
        day = dt.datetime.fromtimestamp(captured_at, dt.timezone.utc).strftime("%Y-%m-%d")
        folder = self.root / camera_id / day
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # read-only or full: retried like a database outage, nothing lost
            raise SnapshotError(f"{folder}: cannot create the snapshot folder ({exc})") from None
        return folder

    def _write(self, path: Path, image: np.ndarray, quality: int | None = None) -> None:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality or self.quality])
        if not ok:
            raise SnapshotError(f"{path}: JPEG encoding failed")
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_bytes(data.tobytes())
            tmp.replace(path)  # readers never see a half-written file
        except OSError as exc:
            with contextlib.suppress(OSError):  # a full disk leaves no partial file behind
                tmp.unlink(missing_ok=True)
            raise SnapshotError(f"{path}: cannot write snapshot ({exc})") from None


def _decoded(camera_id: str, frame: FrameMessage) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SnapshotError(f"camera {camera_id} frame {frame.seq}: JPEG could not be decoded")
    return image


def _annotated(image: np.ndarray, face: FaceObservation, caption: str) -> np.ndarray:
    drawn = draw_faces(image, [face])
    return draw_caption(drawn, caption) if caption else drawn


def caption_for(camera_name: str, captured_at: float) -> str:
    """Where and when, as burnt into a snapshot: the camera's name and the capture time in UTC."""
    when = dt.datetime.fromtimestamp(captured_at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    # The letters OpenCV can draw: "Eingang Süd" becomes "Eingang Sud", not "Eingang S??d".
    name = unicodedata.normalize("NFKD", camera_name).encode("ascii", "ignore").decode() or "camera"
    return f"{name}  {when}"
