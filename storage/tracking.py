"""Per-camera face tracking: one person is one track, and at most one violation.

Faces are associated frame to frame by IoU, falling back to centre distance for fast movers
(at low sample rates a face can move more than its own width between samples). A violation
is confirmed only when the violation labels hold on at least K of the last M evaluations of
the track, so one blurry frame of a person putting a mask on does not flag them.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from maskwatch.boxes import iou_matrix
from maskwatch.labels import CLASSES, VIOLATIONS
from maskwatch.messages import FaceObservation, FrameMessage


@dataclass(frozen=True)
class TrackingSettings:
    iou_threshold: float = 0.3
    max_centre_shift: float = 1.0  # fallback association: centre moved at most this many face widths
    max_age_s: float = 3.0  # a track not seen for this long has left
    confirm_k: int = 3
    confirm_m: int = 5
    min_face_size: int = 24  # smaller faces are tracked but not evaluated
    min_face_score: float = 0.6  # so are weak detections (faces in posters and paintings score ~0.5)


@dataclass(frozen=True)
class BestShot:
    frame: FrameMessage
    face: FaceObservation


@dataclass
class Track:
    id: str
    box: tuple[float, float, float, float]
    first_seen: float
    last_seen: float
    evaluations: deque[tuple[str, float]]  # (label, captured_at) of the last M evaluated sightings
    best: BestShot | None = None
    counted: bool = False  # counted once as a person evaluated
    reported: bool = False  # its violation has been confirmed (at most once)


@dataclass(frozen=True)
class PersonEvaluated:
    """A new person's face was evaluated for the first time (the compliance denominator)."""

    camera_id: str
    track_id: str
    at: float


@dataclass(frozen=True)
class ViolationConfirmed:
    camera_id: str
    track_id: str
    label: str
    score: float
    started_at: float
    confirmed_at: float
    best: BestShot


TrackEvent = PersonEvaluated | ViolationConfirmed


@dataclass
class CameraTracker:
    camera_id: str
    settings: TrackingSettings = field(default_factory=TrackingSettings)
    tracks: list[Track] = field(default_factory=list)

    def update(self, frame: FrameMessage, faces: Sequence[FaceObservation]) -> list[TrackEvent]:
        now = frame.captured_at
        self.tracks = [t for t in self.tracks if now - t.last_seen <= self.settings.max_age_s]
        events: list[TrackEvent] = []
        for face, track in self._associate(faces, now):
            track.box = face.box
            track.last_seen = max(track.last_seen, now)  # results of parallel workers may arrive out of order
            events.extend(self._observe(track, frame, face))
        return events

    def _associate(self, faces: Sequence[FaceObservation], now: float) -> list[tuple[FaceObservation, Track]]:
        pairs: list[tuple[FaceObservation, Track]] = []
        free_tracks = list(self.tracks)
        unmatched = list(faces)
        if free_tracks and unmatched:
            ious = iou_matrix(np.array([f.box for f in unmatched]), np.array([t.box for t in free_tracks]))
            centre_ok = self._centre_close(unmatched, free_tracks)
            # Strongest overlaps first; centre distance only where no overlap matched.
            scores = np.where(ious >= self.settings.iou_threshold, 1.0 + ious, np.where(centre_ok, 0.5, 0.0))
            used_f: set[int] = set()
            used_t: set[int] = set()
            for fi, ti in sorted(np.argwhere(scores > 0).tolist(), key=lambda p: -scores[p[0], p[1]]):
                if fi in used_f or ti in used_t:
                    continue
                used_f.add(fi)
                used_t.add(ti)
                pairs.append((unmatched[fi], free_tracks[ti]))
            unmatched = [f for i, f in enumerate(unmatched) if i not in used_f]
        for i, face in enumerate(unmatched):
            # Derived from the input alone (camera, first frame's capture time, face order), so a
            # recorder that replays the same results after a crash creates the same track ids.
            track = Track(
                id=f"{self.camera_id}-{round(now * 1000)}-{i}",
                box=face.box,
                first_seen=now,
                last_seen=now,
                evaluations=deque(maxlen=self.settings.confirm_m),
            )
            self.tracks.append(track)
            pairs.append((face, track))
        return pairs

    def _centre_close(self, faces: Sequence[FaceObservation], tracks: Sequence[Track]) -> np.ndarray:
        fb = np.array([f.box for f in faces], dtype=float)
        tb = np.array([t.box for t in tracks], dtype=float)
        fc = (fb[:, :2] + fb[:, 2:]) / 2
        tc = (tb[:, :2] + tb[:, 2:]) / 2
        dist = np.linalg.norm(fc[:, None, :] - tc[None, :, :], axis=2)
        width = np.maximum(fb[:, None, 2] - fb[:, None, 0], tb[None, :, 2] - tb[None, :, 0])
        return dist <= self.settings.max_centre_shift * width

    def _observe(self, track: Track, frame: FrameMessage, face: FaceObservation) -> list[TrackEvent]:
        height = face.box[3] - face.box[1]
        if (
            face.label not in CLASSES
            or height < self.settings.min_face_size
            or face.face_score < self.settings.min_face_score
        ):
            return []
        events: list[TrackEvent] = []
        now = frame.captured_at
        if not track.counted:
            track.counted = True
            events.append(PersonEvaluated(self.camera_id, track.id, now))
        track.evaluations.append((face.label, now))
        if face.label in VIOLATIONS and (track.best is None or face.score > track.best.face.score):
            track.best = BestShot(frame, face)
        bad = [label for label, _ in track.evaluations if label in VIOLATIONS]
        if not track.reported and len(bad) >= self.settings.confirm_k and track.best is not None:
            track.reported = True
            label = Counter(bad).most_common(1)[0][0]
            first_bad = next(at for lab, at in track.evaluations if lab in VIOLATIONS)
            events.append(
                ViolationConfirmed(self.camera_id, track.id, label, track.best.face.score, first_bad, now, track.best)
            )
        return events
