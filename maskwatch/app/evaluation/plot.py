"""The event evaluation as a picture: per clip, people counted against present, violators found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server
import matplotlib.pyplot as plt
import numpy as np


def plot_events(clips: list[dict[str, Any]], path: Path) -> Path:
    """Two bar charts, one row of bars per clip and sample rate; written as PNG to `path`."""
    names = [f"{c['clip']} @{c['sample_fps']:g}" for c in clips]
    y = np.arange(len(clips))
    fig, (people, found) = plt.subplots(1, 2, figsize=(12, 0.32 * len(clips) + 1.6), sharey=True)
    people.barh(y - 0.2, [c["people_present"] for c in clips], 0.4, label="present", color="#bbbbbb")
    people.barh(y + 0.2, [c["people_counted"] for c in clips], 0.4, label="counted", color="#3b7dd8")
    people.set_title("People")
    found.barh(y - 0.2, [c["violators"] for c in clips], 0.4, label="violators", color="#bbbbbb")
    found.barh(y + 0.2, [c["found"] for c in clips], 0.4, label="found", color="#2a9d5b")
    merged = [len(c["missed_merged"]) for c in clips]
    found.barh(y + 0.2, merged, 0.4, left=[c["found"] for c in clips], label="merged", color="#d8473b")
    found.set_title("Violators")
    people.set_yticks(y, names, fontsize=8)
    people.invert_yaxis()
    for ax in (people, found):
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlabel("count")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
