"""Violation snapshots on disk: the annotated full frame and the face crop, as JPEG files.

Everyone in the frame but the violator is blurred: they did nothing wrong. An unblurred copy is
kept only where the operator asks for it (`snapshots.keep_original`), beside the frame."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from maskwatch.annotate import blur_faces, draw_faces
from maskwatch.boxes import square_crop_box
from maskwatch.errors import MaskwatchError
from maskwatch.messages import FaceObservation, FrameMessage


class SnapshotError(MaskwatchError):
    """A snapshot could not be decoded or written."""


@dataclass(frozen=True)
class SnapshotPaths:
    frame: Path
    crop: Path


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
        others: Sequence[tuple[float, float, float, float]] = (),
    ) -> SnapshotPaths:
        image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise SnapshotError(f"camera {camera_id} frame {frame.seq}: JPEG could not be decoded")
        day = dt.datetime.fromtimestamp(frame.captured_at, dt.timezone.utc).strftime("%Y-%m-%d")
        folder = self.root / camera_id / day
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # read-only or full: retried like a database outage, nothing lost
            raise SnapshotError(f"{folder}: cannot create the snapshot folder ({exc})") from None
        paths = SnapshotPaths(folder / f"{track_id}-frame.jpg", folder / f"{track_id}-face.jpg")
        if self.keep_original:
            self._write(original_of(paths.frame), draw_faces(image, [face]))
        shown = blur_faces(image, others)
        h, w = shown.shape[:2]
        x1, y1, x2, y2 = square_crop_box(face.box, 0.3)
        crop = shown[max(0, y1) : min(h, y2), max(0, x1) : min(w, x2)]
        self._write(paths.frame, draw_faces(shown, [face]))
        self._write(paths.crop, crop)
        return paths

    def _write(self, path: Path, image: np.ndarray) -> None:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
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
