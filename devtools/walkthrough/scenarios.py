"""The scenarios: each takes a random generator and the pool, and returns a scene to render.

Walkers are fast on purpose: walking in over about 1.6 s, a face moves more than its own width
between two samples at 2 fps, which is what a tracker matching boxes by overlap must survive.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from devtools.walkthrough.motion import WIDTH, Actor, Path, Scene, Walk, ground, offscreen, scene
from maskwatch.labels import MASK_INCORRECT, WITH_MASK, WITHOUT_MASK

# A cut-out is never upscaled more than this: a 48 px face blown up to 200 px is mush.
MAX_UPSCALE = 2.5
MIX = ((WITHOUT_MASK, 0.45), (MASK_INCORRECT, 0.10), (WITH_MASK, 0.45))


class People(Protocol):
    def person(self, label: str, min_face: float = 0.0) -> str: ...
    def changer(self, drawn: tuple[str, ...], min_face: float = 0.0) -> str: ...
    def background(self) -> str: ...


def label_deck(rng: np.random.Generator, n: int) -> list[str]:
    """`n` labels in the mix's proportions (rounded, the rest masked), shuffled."""
    counts = {label: round(share * n) for label, share in MIX}
    if n >= 5:
        counts[MASK_INCORRECT] = max(1, counts[MASK_INCORRECT])  # every clip has one of the rare kind
    counts[WITH_MASK] = n - counts[WITHOUT_MASK] - counts[MASK_INCORRECT]
    deck = [label for label, k in counts.items() for _ in range(k)]
    rng.shuffle(deck)
    return deck


def pick_label(rng: np.random.Generator) -> str:
    """One label drawn with the mix's probabilities (for people whose number is not known ahead)."""
    return str(rng.choice([label for label, _ in MIX], p=[share for _, share in MIX]))


def walking_speed(rng: np.random.Generator, h: float) -> float:
    """Px/s for a face `h` px tall: over two face heights a second, so that at 2 fps the face moves
    more than its width between samples (a near, big face is no slower than a far one)."""
    return max(rng.uniform(250, 400), rng.uniform(2.4, 3.0) * h)


def walker(pool: People, label: str, h: float, path: Path) -> Actor:
    """An actor on one path, cast from the pool with a face big enough for height `h`."""
    return Actor("", pool.person(label, h / MAX_UPSCALE), (path,))


def across(pool: People, label: str, t: float, h: float, y: float, side: int, speed: float) -> Actor:
    """Someone walking through the whole frame from `side` at `speed` px/s, starting at `t`."""
    x0, x1 = offscreen(side, h), offscreen(-side, h)
    return walker(pool, label, h, Walk(t, x0, y, h).go(x1, dur=abs(x1 - x0) / speed).path())


def _counter_part(
    rng: np.random.Generator, pool: People, t: float, labels: list[str], face_h: float, spot: float, side: int
) -> tuple[list[Actor], float]:
    """People walking up to a counter one after another; the next walks in as one walks out."""
    actors = []
    for label in labels:
        h = face_h * rng.uniform(0.9, 1.1)
        walk_in, stand = rng.uniform(1.4, 1.8), rng.uniform(1.7, 2.3)
        x = spot + rng.uniform(-0.3, 0.3) * h
        walk = Walk(t, offscreen(side, h), ground(h), h).go(x, dur=walk_in).stay(stand, rng.uniform(-3, 3))
        actors.append(walker(pool, label, h, walk.go(offscreen(-side, h), dur=walk_in).path()))
        t += walk_in + stand
    return actors, t


def _turnstile_part(
    rng: np.random.Generator, pool: People, t: float, labels: list[str], face_h: float, spot: float
) -> tuple[list[Actor], float]:
    """Different people at the same spot, each about 3 s, 0 to 2 s apart (one gap at least is 0)."""
    gaps = [0.0 if rng.random() < 0.3 else rng.uniform(0.2, 2.0) for _ in range(len(labels) - 1)]
    if gaps and 0.0 not in gaps:
        gaps[int(rng.integers(len(gaps)))] = 0.0
    actors = []
    for label, gap in zip(labels, [*gaps, 0.0], strict=True):
        h = face_h * rng.uniform(0.93, 1.07)
        x, y = spot + rng.uniform(-0.1, 0.1) * h, ground(face_h) + rng.uniform(-0.05, 0.05) * h
        walk = Walk(t, x, y, h).stay(rng.uniform(2.7, 3.3), rng.uniform(-3, 3))
        actors.append(walker(pool, label, h, walk.path()))
        t = walk.end + gap
    return actors, t


def counter(rng: np.random.Generator, pool: People, face_h: float = 120, people: int = 12) -> Scene:
    spot = WIDTH / 2 + rng.uniform(-0.12, 0.12) * WIDTH
    actors, _ = _counter_part(rng, pool, 0.3, label_deck(rng, people), face_h, spot, int(rng.choice([-1, 1])))
    text = f"{people} people walk up to a counter one after another, faces about {face_h:.0f} px"
    return scene("counter", text, actors, [(0.0, pool.background())])


def turnstile(rng: np.random.Generator, pool: People, face_h: float = 100, people: int = 12) -> Scene:
    spot = WIDTH / 2 + rng.uniform(-0.25, 0.25) * WIDTH
    actors, _ = _turnstile_part(rng, pool, 0.5, label_deck(rng, people), face_h, spot)
    text = f"{people} different people in turn at the same spot, about 3 s each, 0-2 s apart"
    return scene("turnstile", text, actors, [(0.0, pool.background())])


def mixed(rng: np.random.Generator, pool: People, face_h: float = 110, people: int = 6) -> Scene:
    """The CI clip: half walk up to a counter, then the rest take turns at the same spot."""
    spot = WIDTH / 2 + rng.uniform(-0.1, 0.1) * WIDTH
    deck = label_deck(rng, people)
    first, t = _counter_part(rng, pool, 0.3, deck[: people // 2], face_h, spot, int(rng.choice([-1, 1])))
    then, _ = _turnstile_part(rng, pool, t + 1.6, deck[people // 2 :], face_h, spot)
    text = f"{people // 2} people walk up to a counter, then {people - people // 2} take turns at that spot"
    return scene("mixed", text, first + then, [(0.0, pool.background())])


def crossing(rng: np.random.Generator, pool: People, face_h: float = 100, pairs: int = 8) -> Scene:
    """Pairs walking toward each other; their faces overlap as they pass (one a little nearer)."""
    actors, meet = [], 2.5
    deck = label_deck(rng, 2 * pairs)
    for k in range(pairs):
        x_meet = WIDTH / 2 + rng.uniform(-0.2, 0.2) * WIDTH
        h_a = face_h * rng.uniform(0.95, 1.1)
        h_b = h_a * rng.uniform(0.8, 0.95)
        for side, h, label in ((-1, h_a, deck[2 * k]), (1, h_b, deck[2 * k + 1])):
            speed = walking_speed(rng, h)
            y = ground(h_a) + rng.uniform(-0.15, 0.15) * h_a
            start = meet - abs(x_meet - offscreen(side, h)) / speed
            actors.append(across(pool, label, start, h, y, side, speed))
        meet += rng.uniform(3.5, 5.0)
    text = f"{pairs} pairs walk across each other's path; their faces overlap as they pass"
    return scene("crossing", text, actors, [(0.0, pool.background())])


def queue(rng: np.random.Generator, pool: People, face_h: float = 120, people: int = 14) -> Scene:
    """A queue of three: when the first is served and walks off, the others step up and a newcomer
    joins at the back, so the next person is always in view while one leaves."""
    side = int(rng.choice([-1, 1]))  # the queue runs toward this side; newcomers come from it
    front = WIDTH / 2 - side * 0.2 * WIDTH
    slots = [(front + side * k * 1.5 * face_h, face_h * 0.88**k) for k in range(3)]
    arrive = [0.3 + 0.9 * i for i in range(min(3, people))]
    depart: list[float] = []
    for i in range(people):
        if i >= 3:
            arrive.append(depart[i - 3])  # a newcomer sets off as a place at the back comes free
        at_front = arrive[0] + 1.6 if i == 0 else depart[i - 1] + 0.8
        depart.append(at_front + rng.uniform(2.5, 3.5))
    actors = []
    for i, label in enumerate(label_deck(rng, people)):
        size = rng.uniform(0.93, 1.07)
        slot = min(i, 2)
        x, h = slots[slot][0], slots[slot][1] * size
        walk = Walk(arrive[i], offscreen(side, h), ground(h), h).go(x, dur=1.6)
        for j in range(i - slot, i):  # each departure ahead moves this person up a place
            slot -= 1
            x, h = slots[slot][0], slots[slot][1] * size
            walk.stay(depart[j] - walk.end).go(x, ground(h), h, dur=0.8)
        walk.stay(depart[i] - walk.end, rng.uniform(-3, 3)).go(offscreen(-side, h), dur=1.4)
        actors.append(walker(pool, label, h, walk.path()))
    text = f"{people} people queue three deep; the next is in view while the one served leaves"
    return scene("queue", text, actors, [(0.0, pool.background())])
