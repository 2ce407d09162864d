"""The walkthrough clip maker (devtools/walkthrough): the CI set builds, its truth files load, and
the faces the truth places are where the shipped analyzer finds faces in the decoded clip."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from devtools.walkthrough.build import build_set
from devtools.walkthrough.render import FPS
from devtools.walkthrough.screen import MATCH_IOU, Screener
from maskwatch.app.evaluation.truth import load_truth
from maskwatch.boxes import iou_matrix

pytestmark = [pytest.mark.shared, pytest.mark.slow]


def decode(clip: Path) -> list[np.ndarray]:
    with av.open(str(clip)) as container:
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    return frames


def test_ci_set_has_truth_the_analyzer_agrees_with(shared: Path, tmp_path: Path) -> None:
    truths = build_set("ci", tmp_path, shared, seed=0)
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["truth"] == [p.name for p in truths] and len(truths) == 1
    analyzer = Screener(shared).analyzer
    for path, entry in zip(truths, index["clips"], strict=True):
        truth, clip = load_truth(path)
        assert truth.clip == clip.name == entry["clip"]
        ids = [p.id for p in truth.people]
        assert len(ids) == len(set(ids)) >= 5
        frames = decode(clip)
        assert len(frames) == entry["frames"]
        assert all(f.shape == (720, 1280, 3) for f in frames)
        last = max(seg[-1][0] for p in truth.people for seg in p.segments or [])
        assert last < len(frames) / FPS
        # Each person once, mid-way through their longest time in view (standing, in the counter
        # and turnstile parts): the analyzer must find a face on the truth's box.
        missed = []
        for person in truth.people:
            seg = max(person.segments or [], key=len)
            t = seg[len(seg) // 2][0]
            box = person.box_at(t)
            assert box is not None
            found = [f.box for f in analyzer.analyze(frames[round(t * FPS)])]
            best = iou_matrix(np.array([box]), np.array(found)).max() if found else 0.0
            if best < MATCH_IOU:
                missed.append(f"{person.id} at {t} s: best IoU {best:.2f}")
        assert not missed, missed
