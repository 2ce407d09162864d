"""Tracking and K-of-M confirmation: one person, one track, at most one violation."""

from maskwatch.messages import FaceObservation, FrameMessage
from storage.tracking import CameraTracker, PersonEvaluated, TrackingSettings, ViolationConfirmed

SETTINGS = TrackingSettings(confirm_k=3, confirm_m=5, max_age_s=2.0, min_face_size=24)


def frame(t: float, seq: int = 0) -> FrameMessage:
    return FrameMessage("cam", seq, t, 640, 360, b"jpeg")


def face(x: float, label: str, score: float = 0.8, size: float = 60) -> FaceObservation:
    return FaceObservation((x, 100, x + size, 100 + size), label, score, 0.9, {label: score})


def run(tracker: CameraTracker, sightings: list[list[FaceObservation]], dt: float = 0.5):
    events = []
    for i, faces in enumerate(sightings):
        events.extend(tracker.update(frame(100 + i * dt, i), faces))
    return events


def violations(events: list) -> list[ViolationConfirmed]:
    return [e for e in events if isinstance(e, ViolationConfirmed)]


def test_walking_unmasked_person_is_one_violation() -> None:
    tracker = CameraTracker("cam", SETTINGS)
    events = run(tracker, [[face(100 + 15 * i, "without_mask", 0.5 + i / 100)] for i in range(12)])
    v = violations(events)
    assert len(v) == 1
    assert sum(isinstance(e, PersonEvaluated) for e in events) == 1
    assert v[0].label == "without_mask"
    assert v[0].started_at == 100.0  # first bad sighting, not the confirming one
    assert v[0].confirmed_at == 101.0  # third sighting
    assert v[0].best.face.score == 0.52  # best of the sightings up to confirmation


def test_putting_a_mask_on_is_not_flagged_from_one_frame() -> None:
    tracker = CameraTracker("cam", SETTINGS)
    labels = ["without_mask", "with_mask", "mask_incorrect", "with_mask", "with_mask", "without_mask", "with_mask"]
    assert violations(run(tracker, [[face(200, lab)] for lab in labels])) == []


def test_mixed_violation_labels_take_the_most_common() -> None:
    tracker = CameraTracker("cam", SETTINGS)
    labels = ["mask_incorrect", "without_mask", "mask_incorrect"]
    (v,) = violations(run(tracker, [[face(200, lab)] for lab in labels]))
    assert v.label == "mask_incorrect"


def test_two_people_one_violation() -> None:
    tracker = CameraTracker("cam", SETTINGS)
    events = run(tracker, [[face(50, "with_mask"), face(400, "without_mask")] for _ in range(6)])
    (v,) = violations(events)
    assert v.best.face.box[0] == 400
    assert sum(isinstance(e, PersonEvaluated) for e in events) == 2


def test_fast_mover_keeps_its_track() -> None:
    tracker = CameraTracker("cam", SETTINGS)
    # 50 px per sample with a 60 px face: no overlap after two steps, centre within one width.
    events = run(tracker, [[face(100 + 50 * i, "without_mask")] for i in range(5)])
    assert len(tracker.tracks) == 1
    assert len(violations(events)) == 1


def test_person_who_left_and_came_back_is_a_new_track() -> None:
    tracker = CameraTracker("cam", SETTINGS)
    run(tracker, [[face(100, "with_mask")]])
    events = tracker.update(frame(110), [face(100, "with_mask")])
    assert [type(e) for e in events] == [PersonEvaluated]
    assert len(tracker.tracks) == 1  # the stale one expired


def test_small_weak_and_undetermined_faces_are_not_evaluated() -> None:
    tracker = CameraTracker("cam", SETTINGS)
    events = run(tracker, [[face(100, "without_mask", size=16)] for _ in range(6)])
    events += run(tracker, [[face(300, "undetermined")] for _ in range(6)])
    weak = FaceObservation((500, 100, 560, 160), "without_mask", 0.5, 0.52, {"without_mask": 0.96})
    events += run(tracker, [[weak] for _ in range(6)])
    assert events == []
