"""Cuts between scenes are told from movement within one, and the tracker holds people apart across them."""

from __future__ import annotations

import json

import numpy as np

from maskwatch import appearance
from maskwatch.ingest.scene import SceneCuts
from maskwatch.messages import FaceObservation, FrameMessage
from maskwatch.storage.record.tracking import CameraTracker, TrackingSettings
from tests.support.faces import face, look


def picture(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.kron(rng.integers(0, 255, (9, 16, 3), dtype=np.uint8), np.ones((80, 80, 1), np.uint8))


def test_a_new_picture_is_a_cut_and_a_person_walking_across_is_not() -> None:
    cuts = SceneCuts()
    scene = picture(1)
    assert not cuts.is_cut(scene)  # the first frame has nothing to differ from
    walking = scene.copy()
    walking[200:600, 300:700] = 30  # someone big, close to the camera
    assert not cuts.is_cut(walking)
    assert cuts.is_cut(picture(2))
    assert not cuts.is_cut(picture(2))


def warmed(settings: TrackingSettings) -> CameraTracker:
    tracker = CameraTracker("cam", settings)
    for i in range(4):
        tracker.update(FrameMessage("cam", i, 100 + 0.5 * i, 1280, 720, b""), [face(600, "without_mask", who=1)])
    return tracker


def test_after_a_cut_a_look_alike_at_the_same_spot_is_someone_else() -> None:
    settings = TrackingSettings(count_after=1)
    # In the new scene someone stands where the last person stood, their look only loosely alike.
    mine, theirs = np.asarray(look(1)).reshape(2, -1), np.asarray(look(2)).reshape(2, -1)
    blends = [w * theirs + (1 - w) * mine for w in np.linspace(0, 1, 41)]
    blends = [b / np.linalg.norm(b, axis=1, keepdims=True) for b in blends]
    alike = next(b for b in blends if 0.2 < (appearance.distance(look(1), b.ravel()) or 0) < 0.25)
    other = FaceObservation((600, 100, 660, 160), "without_mask", 0.8, 0.9, {}, tuple(alike.ravel().tolist()))
    tracker = warmed(settings)
    first = tracker.tracks[0].id
    seen = tracker.tracks[0].look_distance(np.asarray(other.embedding))
    assert seen is not None and settings.reentry_gate < seen < settings.appearance_gate, seen
    tracker.update(FrameMessage("cam", 4, 102.0, 1280, 720, b""), [other])
    assert tracker.last_assignment == [first]  # in one scene: taken for the same person
    tracker = warmed(settings)
    tracker.update(FrameMessage("cam", 4, 102.0, 1280, 720, b"", scene_cut=True), [other])
    assert tracker.last_assignment != [first]


def test_the_cut_travels_with_the_frame_and_older_senders_mean_none() -> None:
    frame = FrameMessage("cam", 3, 100.0, 64, 36, b"jpeg", scene_cut=True)
    assert FrameMessage.from_fields(frame.to_fields()).scene_cut
    fields = FrameMessage("cam", 3, 100.0, 64, 36, b"jpeg").to_fields()
    meta = json.loads(fields["meta"])
    del meta["scene_cut"]
    assert not FrameMessage.from_fields({**fields, "meta": json.dumps(meta).encode()}).scene_cut
