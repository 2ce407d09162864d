"""Scoring events against ground truth: each kind of error is counted as what it is."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from maskwatch.app.evaluation.replay import ClipRun, RecordedViolation, TrackedFace
from maskwatch.app.evaluation.score import score_clip
from maskwatch.app.evaluation.truth import ClipTruth, TruthError, load_truth, visits


def person(pid: str, x: float, start: float, end: float, label: str = "without_mask", **extra: object) -> dict:
    return {
        "id": pid,
        "label": label,
        "segments": [[[start, x, 100, x + 60, 170], [end, x, 100, x + 60, 170]]],
        **extra,
    }


def truth(*people: dict) -> ClipTruth:
    return ClipTruth.model_validate({"clip": "c.mp4", "people": list(people)})


def run_of(
    frames: Mapping[float, Sequence[tuple[str, float]]], violations: list[tuple[str, str]], counted: int
) -> ClipRun:
    """Frames as {t: [(track, x)]}; violations as (track, label)."""
    run = ClipRun("cam", 2.0, people_counted=counted)
    for t, faces in sorted(frames.items()):
        run.frames.append((t, [TrackedFace(track, (x, 100, x + 60, 170), "without_mask", True) for track, x in faces]))
    run.violations = [RecordedViolation(track, label, 0.0, 1.0) for track, label in violations]
    return run


TIMES = [i / 2 for i in range(9)]  # 0 .. 4 s at 2 fps


def test_one_track_per_person_scores_perfectly() -> None:
    t = truth(person("a", 100, 0, 4), person("b", 600, 0, 4, label="with_mask"))
    run = run_of({s: [("T1", 100), ("T2", 600)] for s in TIMES}, [("T1", "without_mask")], counted=2)
    score, _ = score_clip(t, run, reentry_s=10, clip_name="c")
    assert (score.people_present, score.people_counted) == (2, 2)
    assert (score.violators, score.found, score.masked_throughout, score.masked_flagged) == (1, 1, 1, 0)
    assert (score.false_alarms, score.duplicates, score.wrong_label, score.id_switches) == (0, 0, 0, 0)
    assert score.idf1 == 1.0 and score.mota == 1.0


def test_a_person_taken_over_by_the_previous_persons_track_is_missed_as_merged() -> None:
    t = truth(person("a", 300, 0, 2), person("b", 300, 2.5, 4))
    frames = {s: [("T1", 300)] for s in TIMES}  # one track for both: b inherits a's reported track
    score, _ = score_clip(t, run_of(frames, [("T1", "without_mask")], counted=1), reentry_s=10, clip_name="c")
    assert score.found == 1 and score.missed_merged == ["b"]
    assert score.idf1 is not None and score.idf1 < 0.6  # one identity over two people


def test_never_confirmed_duplicates_false_alarms_and_wrong_labels() -> None:
    t = truth(
        person("a", 100, 0, 4),
        person("b", 400, 0, 4, label="mask_incorrect"),
        person("c", 700, 0, 4),
        person("m", 1000, 0, 4, label="with_mask"),
    )
    frames = {s: [("A1" if s < 2 else "A2", 100), ("B", 400), ("C", 700), ("M", 1000), ("X", 1200)] for s in TIMES}
    violations = [("A1", "without_mask"), ("A2", "without_mask"), ("B", "without_mask"), ("M", "without_mask")]
    violations.append(("X", "without_mask"))
    score, _ = score_clip(t, run_of(frames, violations, counted=6), reentry_s=10, clip_name="c")
    assert score.violators == 3 and score.found == 2
    assert score.missed_never_confirmed == ["c"]
    assert score.duplicates == 1  # a: two tracks, two violations in one visit
    assert score.wrong_label == 1  # b wore the mask under the nose
    assert score.masked_flagged == 1  # m
    assert score.false_alarms == 1  # X matches nobody


def test_a_return_after_reentry_s_is_a_second_visit() -> None:
    p = ClipTruth.model_validate(
        {
            "clip": "c.mp4",
            "people": [
                {
                    "id": "a",
                    "label": "without_mask",
                    "segments": [[[0, 1, 1, 9, 9], [3, 1, 1, 9, 9]], [[8, 1, 1, 9, 9], [9, 1, 1, 9, 9]]],
                }
            ],
        }
    ).people[0]
    assert [v.id for v in visits(p, reentry_s=10)] == ["a"]
    assert [v.id for v in visits(p, reentry_s=4)] == ["a", "a#2"]


def test_a_mask_put_on_after_a_moment_is_not_a_violator() -> None:
    p = ClipTruth.model_validate(
        {
            "clip": "c.mp4",
            "people": [
                {
                    "id": "a",
                    "labels": [[0, "without_mask"], [0.5, "with_mask"]],
                    "segments": [[[0, 1, 1, 9, 9], [5, 1, 1, 9, 9]]],
                },
                {
                    "id": "b",
                    "labels": [[0, "with_mask"], [2, "mask_incorrect"]],
                    "segments": [[[0, 1, 1, 9, 9], [5, 1, 1, 9, 9]]],
                },
            ],
        }
    ).people
    (a,) = visits(p[0], 10)
    (b,) = visits(p[1], 10)
    assert a.violator is None  # half a second: too brief to say
    assert b.violator is True and b.violation_label == "mask_incorrect"


def test_boxes_are_interpolated_between_key_frames() -> None:
    p = truth({"id": "a", "label": "with_mask", "segments": [[[0, 0, 0, 10, 10], [2, 100, 0, 110, 10]]]}).people[0]
    assert p.box_at(1.0) == (50, 0, 60, 10)
    assert p.box_at(2.5) is None


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"clip": "c.mp4", "people": [{"id": "a", "label": "no_such"}]}, "unknown label"),
        ({"clip": "c.mp4", "people": [{"id": "a"}]}, "exactly one of 'label' and 'labels'"),
        (
            {
                "clip": "c.mp4",
                "people": [{"id": "a", "label": "with_mask", "segments": [[[1, 0, 0, 9, 9], [0, 0, 0, 9, 9]]]}],
            },
            "increasing",
        ),
        ({"clip": "c.mp4", "people": [{"id": "a", "label": "with_mask"}, {"id": "a", "label": "with_mask"}]}, "unique"),
    ],
)
def test_malformed_truth_is_refused_with_the_reason(tmp_path: Path, body: dict, complaint: str) -> None:
    path = tmp_path / "c.truth.json"
    path.write_text(json.dumps(body))
    with pytest.raises(TruthError, match=complaint):
        load_truth(path)
