"""Per-camera face tracking: one person is one track, and at most one violation per visit.

Each track predicts where its face will be (maskwatch.storage.record.motion, a Kalman filter), and remembers how
the person looks (maskwatch.appearance). A face joins the track whose prediction it fits and
whose look it shares, by an optimal assignment over the frame's faces; a face that looks like
nobody nearby is a new person, even at the very spot where the last one stood. A track unseen
for `max_age_s` is out of view: for up to `reentry_s` after its last sighting a face that looks
like it closely continues it (the same visit, no second violation); after that it has left. A
track missing from even one frame is held to that closer look too: at a turnstile the next
person steps onto the very spot a moment after the last one left it.

A violation is confirmed only when the violation labels hold on at least K of the last M
evaluations of the track, spread over `confirm_min_s`, so one blurry frame (or half a second) of
a person putting a mask on does not flag them.
A person counts as evaluated once `count_after` of their sightings were evaluated, so a single
stray detection does not move the compliance rate.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from maskwatch import appearance
from maskwatch.boxes import iou_matrix
from maskwatch.labels import CLASSES, VIOLATIONS
from maskwatch.messages import FaceObservation, FrameMessage
from maskwatch.storage.record.motion import GATE, FaceMotion

_NO = 1e6  # an assignment cost that rules a pair out
#: However often a camera is sampled, a face gone for less than this is a detection that failed
#: (small faces are missed now and then), not a person who left.
MISSED_AFTER_S = 1.0
_GALLERY = 6  # looks kept per track: the last few, so a turned head or a mask going on still matches
#: Evaluated sightings kept per track until its violation is confirmed, to show a reviewer the
#: person over a moment rather than in one frame (each holds a reference to its frame's JPEG).
CONTEXT_SIGHTINGS = 5


@dataclass(frozen=True)
class TrackingSettings:
    iou_threshold: float = 0.3  # overlapping the prediction this much passes the motion gate anyway
    max_age_s: float = 3.0  # unseen this long: out of view, found again by look alone
    reentry_s: float = 10.0  # unseen this long: left; coming back is a new visit
    appearance_gate: float = 0.3  # a nearby face that differs more in look is someone else
    reentry_gate: float = 0.15  # a track missing from the last frame is continued only by a face this close
    motion_weight: float = 0.5  # how much distance from the prediction adds to the cost, against look
    count_after: int = 2
    confirm_k: int = 3
    confirm_m: int = 5
    confirm_min_s: float = 0.8  # the violation labels confirming it span at least this long
    min_face_size: int = 24  # smaller faces are tracked but not evaluated
    min_face_score: float = 0.6  # so are weak detections (faces in posters and paintings score ~0.5)


@dataclass(frozen=True)
class BestShot:
    frame: FrameMessage
    face: FaceObservation
    others: tuple[tuple[float, float, float, float], ...] = ()  # the other faces in the frame, to blur


@dataclass
class Track:
    id: str
    motion: FaceMotion
    updated_at: float  # capture time of the sighting the motion state is at
    first_seen: float
    last_seen: float
    evaluations: deque[tuple[str, float]]  # (label, captured_at) of the last M evaluated sightings
    looks: deque[np.ndarray] = field(default_factory=lambda: deque(maxlen=_GALLERY))
    best: BestShot | None = None
    context: deque[BestShot] = field(default_factory=lambda: deque(maxlen=CONTEXT_SIGHTINGS))
    evaluated: int = 0  # sightings evaluated so far
    counted: bool = False  # counted once as a person evaluated
    reported: bool = False  # its violation has been confirmed (at most once)

    def look_distance(self, embedding: np.ndarray | None) -> float | None:
        """The closest of the remembered looks, or None when either side has none to compare."""
        if embedding is None:
            return None
        found = [d for d in (appearance.distance(embedding, look) for look in self.looks) if d is not None]
        return min(found) if found else None


@dataclass(frozen=True)
class PersonEvaluated:
    """A new person's face was evaluated (the compliance denominator)."""

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
    #: The last evaluated sightings up to the confirmation (at most CONTEXT_SIGHTINGS), oldest first.
    context: tuple[BestShot, ...] = ()


TrackEvent = PersonEvaluated | ViolationConfirmed


def _embedding(face: FaceObservation) -> np.ndarray | None:
    return np.asarray(face.embedding, dtype=np.float32) if appearance.valid(face.embedding) else None


def _assign(cost: np.ndarray) -> list[tuple[int, int]]:
    """The cheapest one-to-one pairs (row, column), leaving out ruled-out ones."""
    if cost.size == 0:
        return []
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] < _NO]


@dataclass
class CameraTracker:
    camera_id: str
    settings: TrackingSettings = field(default_factory=TrackingSettings)
    tracks: list[Track] = field(default_factory=list)
    clock: float = float("-inf")  # latest capture time seen: results may arrive out of order
    period: float | None = None  # the usual time between this camera's frames, learnt as they come
    #: The track each face of the last update joined, in face order (for evaluation tools).
    last_assignment: list[str] = field(default_factory=list)

    def update(self, frame: FrameMessage, faces: Sequence[FaceObservation]) -> list[TrackEvent]:
        now = frame.captured_at
        if now > self.clock:
            self._learn_period(now - self.clock)
        self.clock = max(self.clock, now)
        keep_s = max(self.settings.reentry_s, self.settings.max_age_s)
        self.tracks = [t for t in self.tracks if self.clock - t.last_seen <= keep_s]
        events: list[TrackEvent] = []
        assigned = self._associate(faces, now, frame.scene_cut)
        self.last_assignment = [track.id for track in assigned]
        for face, track in zip(faces, assigned, strict=True):
            if now >= track.updated_at:  # a late result informs the look and labels, not the motion
                track.motion.update(face.box, now - track.updated_at)
                track.updated_at = now
            track.last_seen = max(track.last_seen, now)
            look = _embedding(face)
            if look is not None and face.face_score >= self.settings.min_face_score:
                track.looks.append(look)
            events.extend(self._observe(track, frame, face, faces))
        return events

    def _learn_period(self, gap: float) -> None:
        if gap > self.settings.max_age_s:  # a pause (no motion, an outage), not the sampling rate
            return
        self.period = gap if self.period is None else 0.8 * self.period + 0.2 * gap

    def _missed(self, track: Track, now: float) -> bool:
        """Whether the track was not seen in the camera's last frame or so, and not for a second:
        someone who vanished there, whose spot the next person in a queue may take a moment later."""
        return self.period is not None and now - track.last_seen > max(1.5 * self.period, MISSED_AFTER_S)

    def _associate(self, faces: Sequence[FaceObservation], now: float, cut: bool = False) -> list[Track]:
        """The track of each face, in face order: near tracks first, then out-of-view ones, then new ones."""
        looks = [_embedding(f) for f in faces]
        near = [t for t in self.tracks if abs(now - t.last_seen) <= self.settings.max_age_s]
        away = [t for t in self.tracks if abs(now - t.last_seen) > self.settings.max_age_s]
        chosen: dict[int, Track] = {}
        left = list(range(len(faces)))
        for candidates, cost_of in ((near, self._near_cost), (away, self._reentry_cost)):
            if not left or not candidates:
                continue
            cost = cost_of([faces[i] for i in left], [looks[i] for i in left], candidates, now, cut)
            for r, c in _assign(cost):
                chosen[left[r]] = candidates[c]
            left = [i for i in left if i not in chosen]
        for i in left:
            # Derived from the input alone (camera, capture time, face order), so a recorder that
            # replays the same results after a crash creates the same track ids.
            chosen[i] = self._new_track(faces[i], now, i)
        return [chosen[i] for i in range(len(faces))]

    def _near_cost(
        self, faces: list[FaceObservation], looks: list[np.ndarray | None], tracks: list[Track], now: float, cut: bool
    ) -> np.ndarray:
        """After a cut between scenes every track is held to the close look of one that went missing."""
        s = self.settings
        boxes = np.array([f.box for f in faces], dtype=np.float64)
        cost = np.full((len(faces), len(tracks)), _NO)
        for c, track in enumerate(tracks):
            dt = now - track.updated_at
            d2 = track.motion.distances(boxes, dt)
            overlap = iou_matrix(boxes, np.array([track.motion.predict_box(dt)]))[:, 0]
            reach = track.motion.reach(boxes, now - track.last_seen)
            missed = cut or self._missed(track, now)
            for r, look in enumerate(looks):
                moved_ok = d2[r] <= GATE or overlap[r] >= s.iou_threshold or reach[r] <= 1.0
                # Either it went on as predicted, or it changed pace: the likelier of the two.
                motion = min(d2[r] / GATE, reach[r] ** 2, 1.0)
                cost[r, c] = self._pair_cost(track.look_distance(look), moved_ok, float(motion), missed)
        return cost

    def _pair_cost(self, seen: float | None, moved_ok: bool, motion: float, missed: bool) -> float:
        """A face against a track in view: its look, plus its distance from the track's prediction.

        A face farther than the motion allows joins only on a close look: people far from the
        camera cross it in few samples, and the first sighting of someone walking in gives no speed."""
        s = self.settings
        close = seen is not None and seen <= s.reentry_gate
        if not (moved_ok or close):
            return _NO
        if seen is not None and seen > (s.reentry_gate if missed else s.appearance_gate):
            return _NO
        look_cost = s.appearance_gate if seen is None else seen
        return look_cost + s.motion_weight * motion

    def _reentry_cost(
        self,
        _faces: list[FaceObservation],
        looks: list[np.ndarray | None],
        tracks: list[Track],
        _now: float,
        _cut: bool,
    ) -> np.ndarray:
        cost = np.full((len(looks), len(tracks)), _NO)
        for c, track in enumerate(tracks):
            for r, look in enumerate(looks):
                seen = track.look_distance(look)
                if seen is not None and seen <= self.settings.reentry_gate:
                    cost[r, c] = seen
        return cost

    def _new_track(self, face: FaceObservation, now: float, index: int) -> Track:
        track = Track(
            id=f"{self.camera_id}-{round(now * 1000)}-{index}",
            motion=FaceMotion.start(face.box),
            updated_at=now,
            first_seen=now,
            last_seen=now,
            evaluations=deque(maxlen=self.settings.confirm_m),
        )
        self.tracks.append(track)
        return track

    def _evaluable(self, face: FaceObservation) -> bool:
        height = face.box[3] - face.box[1]
        return (
            face.label in CLASSES
            and height >= self.settings.min_face_size
            and face.face_score >= self.settings.min_face_score
        )

    def _confirmed(self, bad: list[tuple[str, float]]) -> bool:
        """K of the last M evaluations, spread over `confirm_min_s`: at 5 frames a second three
        labels come within half a second, too soon to tell a mask being pulled on from none."""
        if len(bad) < self.settings.confirm_k:
            return False
        return bad[-1][1] - bad[0][1] >= self.settings.confirm_min_s - 0.05

    def _observe(
        self, track: Track, frame: FrameMessage, face: FaceObservation, faces: Sequence[FaceObservation]
    ) -> list[TrackEvent]:
        if not self._evaluable(face):
            return []
        events: list[TrackEvent] = []
        now = frame.captured_at
        track.evaluated += 1
        if not track.counted and track.evaluated >= self.settings.count_after:
            track.counted = True
            events.append(PersonEvaluated(self.camera_id, track.id, now))
        track.evaluations.append((face.label, now))
        sighting = BestShot(frame, face, tuple(f.box for f in faces if f is not face))
        if not track.reported and frame.jpeg:  # most frames come without their picture (inference decides)
            track.context.append(sighting)
        if face.label in VIOLATIONS and (track.best is None or face.score > track.best.face.score):
            track.best = sighting
        bad = [(label, at) for label, at in track.evaluations if label in VIOLATIONS]
        if not track.reported and self._confirmed(bad) and track.best is not None:
            track.reported = True
            if not track.counted:  # confirmed before it was counted (count_after above confirm_k)
                track.counted = True
                events.append(PersonEvaluated(self.camera_id, track.id, now))
            label = Counter(lab for lab, _ in bad).most_common(1)[0][0]
            first_bad = bad[0][1]
            context = tuple(sorted(track.context, key=lambda shot: shot.frame.captured_at))
            track.context.clear()  # its frames are not needed once confirmed
            best = track.best
            events.append(
                ViolationConfirmed(self.camera_id, track.id, label, best.face.score, first_bad, now, best, context)
            )
        return events
