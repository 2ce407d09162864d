"""Tracking and K-of-M confirmation on synthetic observations: one person, one track, one violation per visit."""

from __future__ import annotations

import pytest

from maskwatch import appearance
from maskwatch.messages import FaceObservation, FrameMessage
from maskwatch.storage.record.tracking import (
    CameraTracker,
    PersonEvaluated,
    TrackEvent,
    TrackingSettings,
    ViolationConfirmed,
)
from tests.support.faces import face, look

SETTINGS = TrackingSettings(confirm_k=3, confirm_m=5, max_age_s=2.0, reentry_s=10.0, min_face_size=24, count_after=1)
REGIONS = 2


def frame(t: float, seq: int = 0) -> FrameMessage:
    return FrameMessage("cam", seq, t, 1280, 720, b"jpeg")


def run(tracker: CameraTracker, sightings: list[list[FaceObservation]], dt: float = 0.5, t0: float = 100.0):
    events: list[TrackEvent] = []
    for i, faces in enumerate(sightings):
        events.extend(tracker.update(frame(t0 + i * dt, i), faces))
    return events


def violations(events: list[TrackEvent]) -> list[ViolationConfirmed]:
    return [e for e in events if isinstance(e, ViolationConfirmed)]


def people(events: list[TrackEvent]) -> int:
    return sum(isinstance(e, PersonEvaluated) for e in events)


def test_walking_unmasked_person_is_one_violation() -> None:
    tracker = CameraTracker("cam", SETTINGS)
    events = run(tracker, [[face(100 + 15 * i, "without_mask", 0.5 + i / 100)] for i in range(12)])
    v = violations(events)
    assert len(v) == 1
    assert people(events) == 1
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
    assert people(events) == 2


@pytest.mark.parametrize("who", [None, 7], ids=["motion only", "with looks"])
def test_a_walker_faster_than_their_own_width_keeps_one_track(who: int | None) -> None:
    """At 2 fps a face crossing the picture moves several of its widths between samples."""
    tracker = CameraTracker("cam", SETTINGS)
    events = run(tracker, [[face(100 + 150 * i, "without_mask", who=who)] for i in range(7)])
    assert people(events) == 1
    assert len(violations(events)) == 1


def test_walk_in_stop_walk_out_is_one_person() -> None:
    xs = [50, 250, 450, 600, 600, 600, 600, 800, 1000]
    tracker = CameraTracker("cam", SETTINGS)
    events = run(tracker, [[face(x, "without_mask", who=3)] for x in xs])
    assert people(events) == 1
    assert len(violations(events)) == 1


def test_the_next_person_at_the_same_spot_is_a_new_person() -> None:
    """A queue at a turnstile: each person stands where the last one stood, moments after."""
    tracker = CameraTracker("cam", SETTINGS)
    sightings = [[face(600, "without_mask", who=person)] for person in range(5) for _ in range(4)]
    events = run(tracker, sightings)
    assert people(events) == 5
    assert len(violations(events)) == 5
    assert len({v.track_id for v in violations(events)}) == 5


def test_crossing_people_keep_their_own_tracks() -> None:
    tracker = CameraTracker("cam", SETTINGS)
    sightings = [
        [face(100 + 120 * i, "without_mask", who=1), face(1000 - 120 * i, "with_mask", who=2, y=110)] for i in range(9)
    ]
    events = run(tracker, sightings)
    assert people(events) == 2
    (v,) = violations(events)
    unmasked_track = v.track_id
    # The unmasked walker's track ends on the right, where only they went.
    track = next(t for t in tracker.tracks if t.id == unmasked_track)
    assert track.motion.x[0] > 900


def test_a_person_hidden_for_a_moment_continues_their_track() -> None:
    tracker = CameraTracker("cam", SETTINGS)
    before = run(tracker, [[face(300, "without_mask", who=4)] for _ in range(2)])
    # Out of view for 6 s (past max_age_s, within reentry_s), and back somewhere else.
    after = run(tracker, [[face(700, "without_mask", who=4)] for _ in range(3)], t0=107.0)
    assert people(before + after) == 1
    assert len(violations(before + after)) == 1


def test_coming_back_after_reentry_s_is_a_new_visit() -> None:
    tracker = CameraTracker("cam", SETTINGS)
    first = run(tracker, [[face(300, "without_mask", who=4)] for _ in range(3)])
    again = run(tracker, [[face(300, "without_mask", who=4)] for _ in range(3)], t0=100.0 + 2 + SETTINGS.reentry_s)
    assert people(first) == people(again) == 1
    assert len(violations(first)) == len(violations(again)) == 1
    assert violations(first)[0].track_id != violations(again)[0].track_id


def test_a_look_alike_nearby_is_not_taken_for_someone_far_away() -> None:
    """A similar look far from any prediction, within max_age_s, is matched only if the motion allows."""
    tracker = CameraTracker("cam", SETTINGS)
    run(tracker, [[face(100, "with_mask", who=5)] for _ in range(3)])
    tracker.update(frame(101.5), [face(100, "with_mask", who=5), face(1100, "with_mask", who=6)])
    assert len(tracker.tracks) == 2


def test_results_out_of_order_join_the_right_tracks() -> None:
    tracker = CameraTracker("cam", SETTINGS)
    order = [0, 2, 1, 3, 5, 4]
    events: list[TrackEvent] = []
    for i in order:
        events += tracker.update(frame(100 + 0.5 * i, i), [face(100 + 40 * i, "without_mask", who=8)])
    assert people(events) == 1
    assert len(violations(events)) == 1


def test_replaying_the_same_results_gives_the_same_track_ids() -> None:
    def ids() -> list[str]:
        tracker = CameraTracker("cam", SETTINGS)
        sightings = [[face(600, "without_mask", who=p)] for p in range(3) for _ in range(3)]
        return [v.track_id for v in violations(run(tracker, sightings))]

    assert ids() == ids()


def test_a_single_stray_detection_is_not_a_person() -> None:
    tracker = CameraTracker("cam", TrackingSettings(count_after=2))
    assert people(run(tracker, [[face(300, "without_mask", who=1)]])) == 0
    assert people(run(tracker, [[face(300, "without_mask", who=1)]], t0=100.5)) == 1


def test_small_weak_and_undetermined_faces_are_not_evaluated() -> None:
    tracker = CameraTracker("cam", SETTINGS)
    events = run(tracker, [[face(100, "without_mask", size=16)] for _ in range(6)])
    events += run(tracker, [[face(300, "undetermined")] for _ in range(6)])
    weak = FaceObservation((500, 100, 560, 160), "without_mask", 0.5, 0.52, {"without_mask": 0.96})
    events += run(tracker, [[weak] for _ in range(6)])
    assert events == []


def test_looks_of_the_same_person_are_closer_than_of_two_people() -> None:
    same = appearance.distance(look(1), look(1, noise=0.05))
    other = appearance.distance(look(1), look(2))
    assert same is not None and other is not None
    assert same < SETTINGS.reentry_gate < SETTINGS.appearance_gate < other


def test_at_five_frames_a_second_half_a_second_unmasked_is_not_a_violation() -> None:
    tracker = CameraTracker("cam", SETTINGS)
    brief = ["without_mask"] * 3 + ["with_mask"] * 6  # 0.4 s bare-faced, then the mask is on
    assert violations(run(tracker, [[face(200, lab, who=2)] for lab in brief], dt=0.2)) == []
    tracker = CameraTracker("cam", SETTINGS)
    (v,) = violations(run(tracker, [[face(200, "without_mask", who=2)] for _ in range(6)], dt=0.2))
    assert v.confirmed_at == pytest.approx(100.8)  # the fifth sighting: 0.8 s of evidence
