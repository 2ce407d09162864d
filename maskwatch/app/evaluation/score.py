"""Scoring a replayed clip against its ground truth: people, violations, identities.

Which track is which person comes from the CLEAR-MOT matching of `motmetrics` (faces matched to
the truth's boxes at IoU 0.3 or more, frame by frame); a track belongs to the visit it matched
most often. Only the faces the recorder evaluates (tracking.min_face_size, min_face_score) are
scored: smaller or unsure ones never become people or violations. From that:

- people counted (the recorder's own count) against visits present;
- per violating visit: found, or missed because its track was never confirmed or because it
  was merged into another person's track;
- false alarms (a violation on a track that matches nobody), violations of people masked
  throughout, duplicates (a second violation in one visit), wrong labels;
- ID switches, IDF1 and MOTA, from `motmetrics`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from maskwatch.app.evaluation.replay import ClipRun
from maskwatch.app.evaluation.truth import ClipTruth, Visit, count_only_violator, visits
from maskwatch.boxes import iou_matrix
from maskwatch.errors import MaskwatchError

MAX_DISTANCE = 0.7  # 1 - IoU: a face box within IoU 0.3 of the truth's is that person's


class EvaluationDependencyError(MaskwatchError):
    """The event evaluation needs motmetrics (the `eval` extra)."""


def _motmetrics() -> Any:
    try:
        import motmetrics
    except ImportError:
        raise EvaluationDependencyError("evaluate-events needs motmetrics: pip install 'maskwatch[eval]'") from None
    return motmetrics


@dataclass
class ClipScore:
    clip: str
    sample_fps: float
    people_present: int = 0
    people_counted: int = 0
    people_unseen: int = 0  # visits no evaluated face matched: the detector never found them
    violators: int = 0
    found: int = 0
    missed_never_confirmed: list[str] = field(default_factory=list)
    missed_merged: list[str] = field(default_factory=list)
    masked_throughout: int = 0
    masked_flagged: int = 0  # people masked throughout who got a violation
    violations: int = 0
    false_alarms: int = 0  # violations matching no person
    duplicates: int = 0
    wrong_label: int = 0
    id_switches: int | None = None
    idf1: float | None = None
    mota: float | None = None
    boxed: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _distances(truth: list[tuple[float, float, float, float]], found: list[tuple[float, float, float, float]]) -> Any:
    """1 - IoU, NaN (no match possible) beyond MAX_DISTANCE: motmetrics' convention. Its own
    `iou_matrix` calls `np.asfarray`, which NumPy 2 removed."""
    d = 1.0 - iou_matrix(np.asarray(truth).reshape(-1, 4), np.asarray(found).reshape(-1, 4))
    return np.where(d > MAX_DISTANCE, np.nan, d)


def _accumulate(truth_visits: list[Visit], run: ClipRun) -> tuple[Any, list[str], list[str]]:
    """The motmetrics accumulator, with the visit and track behind each of its (numeric) ids."""
    mm = _motmetrics()
    acc = mm.MOTAccumulator(auto_id=True)
    visit_ids = [v.id for v in truth_visits]
    track_ids: dict[str, int] = {}
    for t, tracked in run.frames:
        # Faces too small or unsure for the recorder to judge are tracked but never counted or
        # reported: scored as output, they would only be false positives of faces the truth leaves out.
        faces = [f for f in tracked if f.evaluated]
        present = [(n, v.person.box_at(t)) for n, v in enumerate(truth_visits) if v.start - 1e-6 <= t <= v.end + 1e-6]
        gt = [(n, box) for n, box in present if box is not None]
        hyps = [track_ids.setdefault(f.track_id, len(track_ids)) for f in faces]
        acc.update([n for n, _ in gt], hyps, _distances([b for _, b in gt], [f.box for f in faces]))
    return acc, visit_ids, list(track_ids)


def _owners(acc: Any, visit_ids: list[str], track_ids: list[str]) -> tuple[dict[str, str], dict[str, Counter[str]]]:
    """Each track's visit (the one it matched most), and each visit's tracks with their match counts."""
    events = acc.mot_events
    matched = events[events["Type"].isin(["MATCH", "SWITCH"])]
    by_track: dict[str, Counter[str]] = defaultdict(Counter)
    by_visit: dict[str, Counter[str]] = defaultdict(Counter)
    for oid, hid in zip(matched["OId"], matched["HId"], strict=True):
        visit, track = visit_ids[int(oid)], track_ids[int(hid)]
        by_track[track][visit] += 1
        by_visit[visit][track] += 1
    return {track: c.most_common(1)[0][0] for track, c in by_track.items()}, by_visit


def score_clip(truth: ClipTruth, run: ClipRun, reentry_s: float, clip_name: str) -> tuple[ClipScore, Any]:
    """The clip's score, and its motmetrics accumulator (None for truth without boxes)."""
    if not truth.boxed:
        return _score_counts(truth, run, clip_name), None
    all_visits = [v for p in truth.people for v in visits(p, reentry_s)]
    score = ClipScore(clip_name, run.sample_fps, people_present=len(all_visits), people_counted=run.people_counted)
    acc, visit_ids, track_ids = _accumulate(all_visits, run)
    owner, tracks_of = _owners(acc, visit_ids, track_ids)
    by_visit: dict[str, list[str]] = defaultdict(list)
    kinds = {v.id: v for v in all_visits}
    score.violations = len(run.violations)
    for v in run.violations:
        visit = kinds.get(owner.get(v.track_id, ""))
        if visit is None:
            score.false_alarms += 1
        else:
            by_visit[visit.id].append(v.label)
    score.people_unseen = sum(not tracks_of.get(v.id) for v in all_visits)
    for visit in all_visits:
        _score_visit(score, visit, by_visit.get(visit.id, []), tracks_of.get(visit.id, Counter()), owner)
    summary = _motmetrics().metrics.create().compute(acc, metrics=["idf1", "mota", "num_switches"], name="clip")
    score.idf1 = _finite(summary["idf1"].iloc[0])
    score.mota = _finite(summary["mota"].iloc[0])
    score.id_switches = int(summary["num_switches"].iloc[0])
    return score, acc


def _score_visit(
    score: ClipScore, visit: Visit, labels: list[str], tracks: Counter[str], owner: dict[str, str]
) -> None:
    if visit.violator is False:
        score.masked_throughout += 1
        score.masked_flagged += bool(labels)
        return
    if not visit.violator:
        return  # a violation label too briefly worn to say either way
    score.violators += 1
    if labels:
        score.found += 1
        score.duplicates += len(labels) - 1
        score.wrong_label += labels[0] != visit.violation_label
        return
    main = tracks.most_common(1)[0][0] if tracks else None
    if main is not None and owner.get(main) != visit.id:
        score.missed_merged.append(visit.id)
    else:
        score.missed_never_confirmed.append(visit.id)


def _score_counts(truth: ClipTruth, run: ClipRun, clip_name: str) -> ClipScore:
    """Truth without boxes: people and violations by number only."""
    violators = sum(count_only_violator(p) for p in truth.people)
    found = min(len(run.violations), violators)
    return ClipScore(
        clip_name,
        run.sample_fps,
        people_present=len(truth.people),
        people_counted=run.people_counted,
        violators=violators,
        found=found,
        masked_throughout=len(truth.people) - violators,
        violations=len(run.violations),
        false_alarms=len(run.violations) - found,
        boxed=False,
    )


def _finite(value: Any) -> float | None:
    v = float(value)
    return round(v, 4) if np.isfinite(v) else None


def overall_identity(accs: list[Any], names: list[str]) -> dict[str, float | int | None]:
    """IDF1, MOTA and ID switches over several clips together (motmetrics' overall row)."""
    if not accs:
        return {"idf1": None, "mota": None, "id_switches": None}
    mm = _motmetrics()
    summary = mm.metrics.create().compute_many(
        accs, metrics=["idf1", "mota", "num_switches"], names=names, generate_overall=True
    )
    row = summary.loc["OVERALL"]
    return {"idf1": _finite(row["idf1"]), "mota": _finite(row["mota"]), "id_switches": int(row["num_switches"])}
