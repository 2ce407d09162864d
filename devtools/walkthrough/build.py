"""Clip sets: which scenarios, at which face sizes; built into one folder with an `index.json`."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tqdm import tqdm

from devtools.walkthrough import scenarios as sc
from devtools.walkthrough import scenarios_long as sl
from devtools.walkthrough.motion import HEIGHT, WIDTH, Scene
from devtools.walkthrough.people import Pool
from devtools.walkthrough.render import FPS, render_scene
from maskwatch.app.evaluation.truth import load_truth

SCENARIOS: dict[str, Callable[..., Scene]] = {
    "counter": sc.counter,
    "turnstile": sc.turnstile,
    "queue": sc.queue,
    "crossing": sc.crossing,
    "still": sl.still,
    "return": sl.returning,
    "cuts": sl.cuts,
    "maskchange": sl.maskchange,
    "mixed": sc.mixed,
}
Plan = tuple[str, dict[str, float]]
# Each scenario at small, middling and large faces (30-200 px with the per-person spread), so the
# tracker is measured where the detector is at its limit as well as where it is comfortable.
SETS: dict[str, list[Plan]] = {
    "ci": [("mixed", {"face_h": 110, "people": 6})],
    "full": [
        ("counter", {"face_h": 36, "people": 16}),
        ("counter", {"face_h": 90, "people": 14}),
        ("counter", {"face_h": 180, "people": 12}),
        ("turnstile", {"face_h": 50, "people": 16}),
        ("turnstile", {"face_h": 110, "people": 14}),
        ("turnstile", {"face_h": 170, "people": 12}),
        ("queue", {"face_h": 45, "people": 18}),
        ("queue", {"face_h": 100, "people": 16}),
        ("queue", {"face_h": 185, "people": 14}),
        ("crossing", {"face_h": 40, "pairs": 11}),
        ("crossing", {"face_h": 100, "pairs": 10}),
        ("crossing", {"face_h": 160, "pairs": 8}),
        ("still", {"face_h": 70}),
        ("still", {"face_h": 140}),
        ("return", {"face_h": 80}),
        ("return", {"face_h": 150}),
        ("cuts", {"face_h": 60, "scenes": 5}),
        ("cuts", {"face_h": 130, "scenes": 5}),
        ("maskchange", {"face_h": 110, "people": 4}),
        ("maskchange", {"face_h": 180, "people": 4}),
    ],
}


def _totals(truths: list[Path]) -> dict[str, Any]:
    labels: Counter[str] = Counter()
    people = visits = 0
    duration = 0.0
    for path in truths:
        truth, clip = load_truth(path)
        for p in truth.people:
            people += 1
            visits += len(p.segments or [])
            labels[p.label or " -> ".join(label for _, label in p.labels or [])] += 1
        duration += _frames(clip) / FPS
    return {
        "clips": len(truths),
        "people": people,
        "visits": visits,
        "duration_s": round(duration, 1),
        "labels": dict(sorted(labels.items())),
    }


def _frames(clip: Path) -> int:
    import av

    with av.open(str(clip)) as container:
        return int(container.streams.video[0].frames)


def build_set(name: Literal["ci", "full"], out_dir: Path, shared: Path, seed: int = 0) -> list[Path]:
    """Render set `name` into `out_dir`: one mp4 and truth file per clip, `index.json` listing them.

    The pool of screened cut-outs is cached in `out_dir/pool.json`. Returns the truth files."""
    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    pool = Pool(shared, out_dir / "pool.json", seed)
    scenes: list[tuple[str, Scene]] = []
    taken: Counter[str] = Counter()
    for k, (scenario, params) in enumerate(SETS[name]):
        pool.begin_clip()
        taken[scenario] += 1
        clip = f"{name}-{scenario}-{taken[scenario]:02d}"
        scenes.append((clip, SCENARIOS[scenario](np.random.default_rng([seed, k]), pool, **params)))
    pool.save()
    print("\n".join(["pool (screened this build, by source and label):", *pool.summary()]), flush=True)
    truths = []
    total = sum(round(s.duration * FPS) for _, s in scenes)
    with tqdm(total=total, unit="frame", desc=f"walkthrough {name}") as bar:
        for clip, scene in scenes:
            truths.append(render_scene(scene, pool, out_dir, clip, bar))
    index = {
        "set": name,
        "seed": seed,
        "fps": FPS,
        "size": [WIDTH, HEIGHT],
        "truth": [p.name for p in truths],
        "totals": _totals(truths),
        "clips": [
            {
                "clip": f"{clip}.mp4",
                "frames": round(scene.duration * FPS),
                "scenario": scene.name,
                "cast": {a.id: a.cast for a in scene.actors},  # which cut-out plays whom, for debugging
            }
            for clip, scene in scenes
        ],
        "build_s": round(time.monotonic() - started, 1),
    }
    (out_dir / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    return truths
