"""The longer scenarios: someone standing still, someone coming back, hard cuts, masks changing."""

from __future__ import annotations

import numpy as np

from devtools.walkthrough.motion import WIDTH, Actor, Scene, Walk, ground, offscreen, scene, until
from devtools.walkthrough.scenarios import (
    MAX_UPSCALE,
    People,
    across,
    label_deck,
    pick_label,
    walker,
    walking_speed,
)
from maskwatch.labels import MASK_INCORRECT, WITH_MASK, WITHOUT_MASK


def passers(rng: np.random.Generator, pool: People, t0: float, t1: float, face_h: float) -> list[Actor]:
    """People walking through, nearer or farther than `face_h`, every 2-4.5 s between t0 and t1."""
    actors, t = [], t0 + rng.uniform(0.5, 2.0)
    while t < t1:
        h = face_h * float(rng.choice([rng.uniform(0.6, 0.8), rng.uniform(1.15, 1.35)]))
        side = int(rng.choice([-1, 1]))
        actors.append(across(pool, pick_label(rng), t, h, ground(h), side, walking_speed(rng, h)))
        t += rng.uniform(2.0, 4.5)
    return actors


def still(rng: np.random.Generator, pool: People, face_h: float = 100, seconds: float = 30) -> Scene:
    h = face_h
    x = WIDTH / 2 + rng.uniform(-0.2, 0.2) * WIDTH
    side = int(rng.choice([-1, 1]))
    walk = Walk(0.2, offscreen(side, h), ground(h), h).go(x, dur=1.6).stay(seconds, rng.uniform(-4, 4))
    stander = walker(pool, pick_label(rng), h, walk.go(offscreen(side, h), dur=1.6).path())
    actors = [stander, *passers(rng, pool, 0.5, walk.end - 1.0, face_h)]
    text = f"one person stands still for {seconds:.0f} s while {len(actors) - 1} others pass by"
    return scene("still", text, actors, [(0.0, pool.background())])


def returning(rng: np.random.Generator, pool: People, face_h: float = 100) -> Scene:
    """Someone who leaves and comes back twice: after about 3 s away, then after about 40 s."""
    h = face_h * 1.1
    x = WIDTH / 2 + rng.uniform(-0.25, 0.25) * WIDTH
    label = pick_label(rng)
    paths, t = [], 0.3
    for away in (3.0, 40.0, None):
        side = int(rng.choice([-1, 1]))
        walk = Walk(t, offscreen(side, h), ground(h), h).go(x, dur=1.6).stay(rng.uniform(3, 5), rng.uniform(-3, 3))
        paths.append(walk.go(offscreen(-side, h), dur=1.6).path())
        t = walk.end + (away - 0.8 if away else 0.0)  # walking off and on again takes about 0.8 s of it
    actors = [Actor("", pool.person(label, h / MAX_UPSCALE), tuple(paths)), *passers(rng, pool, 0.3, t, face_h)]
    text = f"one person leaves and comes back after about 3 s, then after about 40 s; {len(actors) - 1} others pass"
    return scene("return", text, actors, [(0.0, pool.background())])


def cuts(rng: np.random.Generator, pool: People, face_h: float = 100, scenes: int = 5, scene_s: float = 8) -> Scene:
    """Hard cuts between scenes (other background, other people) every `scene_s` seconds."""
    actors: list[Actor] = []
    backgrounds = []
    deck = label_deck(rng, 3 * scenes)
    for k in range(scenes):
        t0, t1 = k * scene_s, (k + 1) * scene_s
        backgrounds.append((t0, pool.background()))
        h = face_h * rng.uniform(0.75, 1.25)
        # Someone already in place when the scene cuts in, someone still there when it cuts out.
        first = Walk(t0, WIDTH * rng.uniform(0.2, 0.8), ground(h), h).stay(rng.uniform(2.5, 4.5), rng.uniform(-3, 3))
        first.go(offscreen(int(rng.choice([-1, 1])), h), dur=1.6)
        side = int(rng.choice([-1, 1]))
        last = Walk(t0 + rng.uniform(2.0, 3.5), offscreen(side, h), ground(h), h)
        last.go(WIDTH * rng.uniform(0.3, 0.7), dur=1.6).stay(scene_s)
        for label, walk in ((deck[3 * k], first), (deck[3 * k + 1], last)):
            actors.append(walker(pool, label, h, until(walk.path(), t1)))
        passer = across(pool, deck[3 * k + 2], t0 + rng.uniform(0.5, 3.0), h * 0.8, ground(h * 0.8), -side, 380)
        actors.append(Actor("", passer.cast, (until(passer.paths[0], t1),)))
    out = scene("cuts", f"{scenes} scenes of {scene_s:.0f} s joined by hard cuts", actors, backgrounds)
    return Scene(out.name, out.description, scenes * scene_s, out.backgrounds, out.actors)


CHANGES = (
    (WITHOUT_MASK, WITH_MASK),
    (WITH_MASK, WITHOUT_MASK),
    (WITHOUT_MASK, MASK_INCORRECT),
    (MASK_INCORRECT, WITH_MASK),
)


def maskchange(rng: np.random.Generator, pool: People, face_h: float = 140, people: int = 4) -> Scene:
    """People who put a mask on, take it off or pull it up while standing in view (>= 3 s either side)."""
    actors, t = [], 0.3
    for k in range(people):
        before, after = CHANGES[(k + int(rng.integers(len(CHANGES)))) % len(CHANGES)]
        h = face_h * rng.uniform(0.9, 1.1)
        x = WIDTH / 2 + rng.uniform(-0.2, 0.2) * WIDTH
        side = int(rng.choice([-1, 1]))
        walk = Walk(t, offscreen(side, h), ground(h), h).go(x, dur=1.6)
        change = walk.end + rng.uniform(3.2, 4.5)
        walk.stay(change - walk.end + rng.uniform(3.2, 4.5), rng.uniform(-3, 3)).go(offscreen(-side, h), dur=1.6)
        drawn = tuple(label for label in (before, after) if label != WITHOUT_MASK)
        cast = pool.changer(drawn, h / MAX_UPSCALE)
        actors.append(Actor("", cast, (walk.path(),), ((0.0, before), (change, after))))
        t = walk.end - 1.6
    text = f"{people} people put a mask on, take it off or pull it up while standing in view"
    return scene("maskchange", text, actors, [(0.0, pool.background())])
