"""The people of the clips: a pool of cut-outs from ../shared, screened with the shipped analyzer.

Sources: ILC scene photos (train split only; head and shoulders around the annotated face),
chandrikadeb7 face crops (drawn onto a neck and torso) and RMFD photos (every face masked; the
detector finds it). One source face is one identity.

Selection, and why: the clips measure the tracker, not the classifier or the detector. A
cut-out is kept only if the analyzer (YuNet from ../shared/weights, otherwise the default
analyzer settings), shown the cut-out alone at its source size on a plain grey margin, finds
exactly one face, overlapping the face box with IoU >= 0.3, and gives it the truth label. A
person the analyzer misreads even in isolation would turn a classifier error into a tracking
error in the evaluation. People whose mask goes on or comes off in view are unmasked cut-outs
whose drawn mask (`devtools.demo_media.draw_mask`) passes the same check. Backgrounds are ILC
train photos with their faces painted out, rejected if the detector still finds a face scoring
>= 0.5 on them. The truth therefore holds only faces the analyzer can read at source size;
what it misses at clip size, in motion, under H.264, is what the evaluation measures.

Screening is lazy: candidates are screened in a seeded order, alternating between the sources
of a label, only until the scenarios have the people they ask for. Every verdict is cached in
`pool.json` in the output folder (source path, boxes, label; or why it was rejected), so a
second build with the same seed screens nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from devtools.demo_media import draw_mask
from devtools.walkthrough import sources as src
from devtools.walkthrough.cutouts import Cutout
from devtools.walkthrough.screen import BACKGROUND_MAX_SCORE, DETECTOR, Screener, cutout_for, xywh
from maskwatch.errors import MaskwatchError
from maskwatch.labels import MASK_INCORRECT, WITH_MASK, WITHOUT_MASK

# Bump when cut-outs or backgrounds are made differently: cached verdicts are about the old pixels.
CACHE_VERSION = 4
LABEL_SOURCES = {
    WITH_MASK: (src.ILC, src.CDEB, src.RMFD),
    WITHOUT_MASK: (src.ILC, src.CDEB),
    MASK_INCORRECT: (src.ILC,),
}


class PoolError(MaskwatchError):
    """The sources ran out of people or backgrounds that pass the screening."""


class Pool:
    """Hands out screened cut-outs and backgrounds: never one twice in a clip, and none twice in a
    set while unused ones remain."""

    def __init__(self, shared: Path, cache: Path, seed: int = 0) -> None:
        self.shared, self.cache = shared, cache
        self.screener = Screener(shared)
        self.entries: dict[str, dict[str, Any]] = {}
        self.backgrounds: dict[str, float] = {}
        if cache.is_file():
            raw = json.loads(cache.read_text())
            if raw.get("version") == CACHE_VERSION and raw.get("detector") == DETECTOR:
                self.entries = {e["key"]: e for e in raw["people"]}
                self.backgrounds = raw["backgrounds"]
        rng = np.random.default_rng([seed, 7])
        items = src.ilc_train(shared)
        everyone = src.ilc_candidates(shared, items) + src.cdeb_candidates(shared) + src.rmfd_candidates(shared)
        self.queues: dict[tuple[str, str], list[src.Candidate]] = {}
        for cand in everyone:
            self.queues.setdefault((cand.label, cand.source), []).append(cand)
        for queue in self.queues.values():
            rng.shuffle(queue)
        self.turn: Counter[str] = Counter()
        self.bg_queue = {f"bg:{i.stem}": i for i in src.background_candidates(items)}
        self.bg_order = list(self.bg_queue)
        rng.shuffle(self.bg_order)
        self.kept: dict[str, list[str]] = {label: [] for label in LABEL_SOURCES}
        self.screened: list[str] = []
        self.uses: Counter[str] = Counter()
        self.clip_used: set[str] = set()
        self.cuts: dict[str, Cutout] = {}
        self.images: dict[str, np.ndarray] = {}

    def begin_clip(self) -> None:
        self.clip_used = set()

    # -- people

    def face_height(self, key: str) -> float:
        face = self.entries[key]["face"]
        return float(face[3] - face[1])

    def label(self, key: str) -> str:
        return str(self.entries[key]["label"])

    def person(self, label: str, min_face: float = 0.0) -> str:
        """A kept cut-out with `label` whose face is at least `min_face` px tall at source size."""
        return self._choose(label, min_face, lambda key: True)

    def changer(self, drawn: tuple[str, ...], min_face: float = 0.0) -> str:
        """An unmasked cut-out on which the analyzer reads each of the `drawn` masks correctly."""
        return self._choose(WITHOUT_MASK, min_face, lambda key: all(self._drawn_ok(key, d) for d in drawn))

    def _choose(self, label: str, min_face: float, ok: Callable[[str], bool]) -> str:
        def fits(key: str) -> bool:
            return key not in self.clip_used and self.face_height(key) >= min_face and ok(key)

        key = next((k for k in self.kept[label] if self.uses[k] == 0 and fits(k)), None)
        while key is None:
            fresh = self._screen_next(label)
            if fresh is None:
                break
            key = fresh if fits(fresh) else None
        if key is None:  # the sources ran out: reuse the least used, still never twice in a clip
            reusable = [k for k in self.kept[label] if fits(k)]
            if not reusable:
                raise PoolError(f"no {label} cut-out with a face >= {min_face:.0f} px passes the screening")
            key = min(reusable, key=lambda k: self.uses[k])
        self.uses[key] += 1
        self.clip_used.add(key)
        return key

    def _screen_next(self, label: str) -> str | None:
        """Screen candidates of `label`, the sources taking turns, until one is kept."""
        sources = LABEL_SOURCES[label]
        while any(self.queues.get((label, s)) for s in sources):
            source = sources[self.turn[label] % len(sources)]
            self.turn[label] += 1
            queue = self.queues.get((label, source))
            if not queue:
                continue
            cand = queue.pop()
            entry = self.entries.get(cand.key)
            if entry is None:
                entry, cut = self.screener.person(cand)
                self.entries[cand.key] = entry
                if cut is not None:
                    self.cuts[cand.key] = cut
            self.screened.append(cand.key)
            if entry["kept"]:
                self.kept[label].append(cand.key)
                return cand.key
        return None

    def _drawn_ok(self, key: str, label: str) -> bool:
        drawn = self.entries[key]["drawn"]
        if label not in drawn:
            drawn[label] = self.screener.drawn(self.cutout(key), tuple(self.entries[key]["found"]), label)
        return bool(drawn[label])

    def cutout(self, key: str, label: str | None = None) -> Cutout:
        """The cut-out, with a mask drawn on when `label` differs from the source's own."""
        if key not in self.cuts:
            e = self.entries[key]
            image = src.read_image(self.shared, Path(e["path"]))
            cut = cutout_for(e["source"], image, tuple(e["box"]) if "box" in e else None, (), key)
            assert not isinstance(cut, str), f"{key}: cached cut-out no longer cuts: {cut}"
            self.cuts[key] = Cutout(cut.image, cut.alpha, tuple(e["face"]))
        cut = self.cuts[key]
        if label is None or label == self.label(key):
            return cut
        return Cutout(draw_mask(cut.image, xywh(tuple(self.entries[key]["found"])), label), cut.alpha, cut.face)

    # -- backgrounds

    def background(self) -> str:
        """A screened background not used before in this set, as long as any is left."""
        for key in self.bg_order:
            if key in self.clip_used or self.uses[key]:
                continue
            if key not in self.backgrounds:
                image = src.make_background(self.bg_queue[key])
                self.backgrounds[key] = round(self.screener.background_score(image), 3)
                self.images[key] = image
            if self.backgrounds[key] < BACKGROUND_MAX_SCORE:
                break
        else:  # all used: reuse the least used, still never twice in a clip
            kept = [k for k in self.bg_order if self.backgrounds.get(k, 1.0) < BACKGROUND_MAX_SCORE]
            if not (kept := [k for k in kept if k not in self.clip_used]):
                raise PoolError("no background left without a face the detector finds")
            key = min(kept, key=lambda k: self.uses[k])
        self.uses[key] += 1
        self.clip_used.add(key)
        return key

    def background_image(self, key: str) -> np.ndarray:
        if key not in self.images:
            self.images[key] = src.make_background(self.bg_queue[key])
        return self.images[key]

    # -- bookkeeping

    def save(self) -> None:
        people = [self.entries[k] for k in sorted(self.entries)]
        data = {"version": CACHE_VERSION, "detector": DETECTOR, "people": people, "backgrounds": self.backgrounds}
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        self.cache.write_text(json.dumps(data, indent=0) + "\n")

    def summary(self) -> list[str]:
        """Kept and rejected per source and label, with the reasons, for what this build screened."""
        tally: Counter[tuple[str, str, str]] = Counter()
        for key in self.screened:
            e = self.entries[key]
            tally[(e["source"], e["label"], e["why"])] += 1
        lines = []
        for source, label in sorted({(s, lab) for s, lab, _ in tally}):
            kept = tally[(source, label, "kept")]
            why = {w: n for (s, lab, w), n in tally.items() if (s, lab) == (source, label) and w != "kept"}
            rejected = sum(why.values())
            reasons = ", ".join(f"{n} {w}" for w, n in sorted(why.items(), key=lambda kv: -kv[1]))
            lines.append(
                f"{source:>13} {label:<14} kept {kept:4d}, rejected {rejected:4d}" + (f" ({reasons})" * bool(reasons))
            )
        drawn = Counter(
            f"{d} {'ok' if v else 'failed'}" for e in self.entries.values() for d, v in e.get("drawn", {}).items()
        )
        if drawn:
            lines.append("drawn masks on unmasked cut-outs: " + ", ".join(f"{n} {k}" for k, n in sorted(drawn.items())))
        bg = [self.backgrounds[k] for k in self.bg_order if k in self.backgrounds]
        lines.append(
            f"backgrounds: {sum(s < BACKGROUND_MAX_SCORE for s in bg)} kept, "
            f"{sum(s >= BACKGROUND_MAX_SCORE for s in bg)} rejected (a face still found)"
        )
        return lines
