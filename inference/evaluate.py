"""`maskwatch evaluate`: the analyzer over a VOC data set, scored like a detection benchmark.

Predictions are scored exactly as `detect --json` reports them: each face counts for its
argmax label with `score` = face score x class probability. For violation AP a face counts
when its label is a violation, scored by face score x P(without_mask or mask_incorrect).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from maskwatch.images import read_bgr
from maskwatch.inference.analyzer import FaceAnalyzer, FaceResult
from maskwatch.inference.classifier import classifier_path
from maskwatch.inference.metrics import APResult, ImageBoxes, class_ap, match_greedy
from maskwatch.labels import CLASSES, MASK_INCORRECT, UNDETERMINED, VIOLATIONS, WITH_MASK, WITHOUT_MASK
from maskwatch.voc import VocImage, read_dataset, read_split

HEIGHT_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("<16", 0, 16),
    ("16-32", 16, 32),
    ("32-64", 32, 64),
    (">=64", 64, float("inf")),
)
IOU = 0.5


@dataclass(frozen=True)
class ImageEval:
    item: VocImage
    faces: list[FaceResult]
    ms: float


def _boxes(items: list[tuple[float, float, float, float]]) -> np.ndarray:
    return np.array(items, dtype=np.float64).reshape(-1, 4)


def _violation_score(face: FaceResult) -> float:
    return face.face_score * sum(face.probs.get(k, 0.0) for k in VIOLATIONS)


def _per_class_inputs(evals: list[ImageEval], cls: str) -> list[ImageBoxes]:
    """Ground truth of `cls` to find; incorrect-mask faces (and `difficult` ones) are ignored."""
    out = []
    for ev in evals:
        preds = [f for f in ev.faces if f.label == cls]
        gt = [o.box for o in ev.item.objects if o.label == cls and not o.difficult]
        ignore = [
            o.box for o in ev.item.objects if (o.label == MASK_INCORRECT and cls != MASK_INCORRECT) or o.difficult
        ]
        out.append(
            ImageBoxes(_boxes([f.box for f in preds]), np.array([f.score for f in preds]), _boxes(gt), _boxes(ignore))
        )
    return out


def _violation_inputs(evals: list[ImageEval]) -> list[ImageBoxes]:
    out = []
    for ev in evals:
        preds = [f for f in ev.faces if f.label in VIOLATIONS]
        gt = [o.box for o in ev.item.objects if o.label in VIOLATIONS and not o.difficult]
        ignore = [o.box for o in ev.item.objects if o.difficult]
        scores = np.array([_violation_score(f) for f in preds])
        out.append(ImageBoxes(_boxes([f.box for f in preds]), scores, _boxes(gt), _boxes(ignore)))
    return out


def _recall_and_labels(evals: list[ImageEval]) -> dict[str, Any]:
    found = {name: [0, 0] for name, _, _ in HEIGHT_BUCKETS}
    confusion = np.zeros((len(CLASSES), len(CLASSES) + 1), dtype=int)  # last column: undetermined
    for ev in evals:
        gt = [o for o in ev.item.objects if not o.difficult]
        matches = match_greedy(
            _boxes([f.box for f in ev.faces]),
            np.array([f.face_score for f in ev.faces]),
            _boxes([o.box for o in gt]),
            IOU,
        )
        matched = {int(m): ev.faces[i] for i, m in enumerate(matches) if m >= 0}
        for j, obj in enumerate(gt):
            h = obj.box[3] - obj.box[1]
            bucket = next(name for name, lo, hi in HEIGHT_BUCKETS if lo <= h < hi)
            found[bucket][1] += 1
            if j in matched:
                found[bucket][0] += 1
                face = matched[j]
                col = len(CLASSES) if face.label == UNDETERMINED else CLASSES.index(face.label)
                confusion[CLASSES.index(obj.label), col] += 1
    determined = confusion[:, : len(CLASSES)]
    big = [found[b] for b in ("32-64", ">=64")]
    return {
        "face_recall_by_height": {
            k: {"recall": v[0] / v[1] if v[1] else None, "found": v[0], "total": v[1]} for k, v in found.items()
        },
        "face_recall_ge32": sum(f for f, _ in big) / max(sum(t for _, t in big), 1),
        "face_recall_all": sum(v[0] for v in found.values()) / max(sum(v[1] for v in found.values()), 1),
        "label_accuracy": float(np.trace(determined) / max(determined.sum(), 1)),
        "undetermined_matched": int(confusion[:, -1].sum()),
        "label_confusion": {
            "rows_true": list(CLASSES),
            "cols_pred": [*CLASSES, UNDETERMINED],
            "counts": confusion.tolist(),
        },
    }


def _plot_pr(curves: dict[str, APResult], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 5))
    for name, res in curves.items():
        if res.n_gt:
            ax.plot(res.recall, res.precision, label=f"{name} AP50={res.ap:.3f}")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    ax.set_title("Precision-recall at IoU 0.5")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def score_evaluations(evals: list[ImageEval]) -> tuple[dict[str, Any], dict[str, APResult]]:
    curves = {cls: class_ap(_per_class_inputs(evals, cls), IOU) for cls in CLASSES}
    curves["violation"] = class_ap(_violation_inputs(evals), IOU)
    times = np.array([ev.ms for ev in evals])
    metrics: dict[str, Any] = {
        "images": len(evals),
        "ap50": {k: v.ap for k, v in curves.items() if k in CLASSES},
        "map50": float(np.mean([curves[WITH_MASK].ap, curves[WITHOUT_MASK].ap])),
        "violation_ap50": curves["violation"].ap,
        "ms_per_image": {"mean": float(times.mean()), "median": float(np.median(times))} if len(times) else None,
        **_recall_and_labels(evals),
    }
    return metrics, curves


def evaluate_voc(
    analyzer: FaceAnalyzer, root: Path, split: Path | None, out_dir: Path, limit: int | None = None
) -> dict[str, Any]:
    items = read_dataset(root, read_split(split) if split else None)
    if limit:
        items = items[:limit]
    evals = []
    for item in tqdm(items, desc="evaluate", unit="img"):
        image = read_bgr(item.image_path)
        t0 = time.perf_counter()
        faces = analyzer.analyze(image)
        evals.append(ImageEval(item, faces, (time.perf_counter() - t0) * 1000))
    metrics, curves = score_evaluations(evals)
    metrics["detector"] = analyzer.config.detector.model_dump(mode="json")
    metrics["classifier"] = str(classifier_path(analyzer.config.classifier))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    predictions = {ev.item.stem: [f.to_json() for f in ev.faces] for ev in evals}
    (out_dir / "predictions.json").write_text(json.dumps(predictions) + "\n")
    _plot_pr(curves, out_dir / "pr_curves.png")
    metrics["out_dir"] = str(out_dir)
    return metrics


def print_summary(m: dict[str, Any]) -> None:
    ms = m["ms_per_image"]
    print(f"images: {m['images']}   ms/image: mean {ms['mean']:.1f}, median {ms['median']:.1f}")
    for cls, ap in m["ap50"].items():
        print(f"AP50 {cls:<15} {ap:.4f}")
    print(f"mAP50 (with_mask, without_mask)  {m['map50']:.4f}")
    print(f"violation AP50                   {m['violation_ap50']:.4f}")
    recall = "  ".join(
        f"{k}: {v['recall']:.3f} ({v['found']}/{v['total']})" if v["recall"] is not None else f"{k}: -"
        for k, v in m["face_recall_by_height"].items()
    )
    print(f"face recall @0.5 by height       {recall}")
    print(f"face recall, faces >= 32 px      {m['face_recall_ge32']:.4f}")
    print(f"label accuracy (matched faces)   {m['label_accuracy']:.4f}   undetermined: {m['undetermined_matched']}")
    print(f"written to {m['out_dir']}")
