"""Synthetic face observations for the tracker: where a face is, what it is labelled, and how the
person looks (an embedding shaped like the real ones)."""

from __future__ import annotations

import numpy as np

from maskwatch import appearance
from maskwatch.messages import FaceObservation

REGIONS = 2


def look(seed: int, noise: float = 0.0, base: int | None = None) -> tuple[float, ...]:
    """A person's look: per region a unit vector of non-negative values (as square-root histograms are)."""
    rng = np.random.default_rng(seed if base is None else base)
    v = rng.random((REGIONS, appearance.EMBEDDING_DIMS // REGIONS)) ** 4
    if noise:
        v = v + noise * np.random.default_rng(seed).random(v.shape)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return tuple(v.ravel().tolist())


def face(x: float, label: str, score: float = 0.8, size: float = 60, who: int | None = None, y: float = 100):
    emb = look(who) if who is not None else ()
    return FaceObservation((x, y, x + size, y + size), label, score, 0.9, {label: score}, emb)
