"""Training-run reports: per-class metrics, plots and the model card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from maskwatch.labels import CLASSES


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    n = len(CLASSES)
    cm = np.zeros((n, n), dtype=int)
    for t, p in zip(y_true, y_pred, strict=True):
        cm[t, p] += 1
    per_class = {}
    for i, name in enumerate(CLASSES):
        tp = cm[i, i]
        precision = tp / cm[:, i].sum() if cm[:, i].sum() else 0.0
        recall = tp / cm[i, :].sum() if cm[i, :].sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {
            "precision": round(float(precision), 4),
            "recall": round(float(recall), 4),
            "f1": round(float(f1), 4),
            "support": int(cm[i, :].sum()),
        }
    return {
        "accuracy": round(float(np.trace(cm) / max(cm.sum(), 1)), 4),
        "per_class": per_class,
        "confusion_matrix": cm.tolist(),
        "labels": list(CLASSES),
    }


def plot_confusion(cm: list[list[int]], path: Path) -> None:
    arr = np.array(cm)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.imshow(arr, cmap="Blues")
    ax.set_xticks(range(len(CLASSES)), CLASSES, rotation=20)
    ax.set_yticks(range(len(CLASSES)), CLASSES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(arr.shape[0]):
        for j in range(arr.shape[1]):
            ax.text(
                j, i, str(arr[i, j]), ha="center", va="center", color="black" if arr[i, j] < arr.max() / 2 else "white"
            )
    ax.set_title("Validation confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_history(history: dict[str, list[float]], path: Path, restarts: list[int] | None = None) -> None:
    """`restarts`: epochs where fine-tuning started again from the same weights (soup members)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", "accuracy"), strict=True):
        ax.plot(history.get(key, []), label=f"train {key}")
        ax.plot(history.get(f"val_{key}", []), label=f"val {key}")
        for i, epoch in enumerate(restarts or []):
            ax.axvline(epoch - 0.5, color="grey", linestyle=":", label="soup member starts" if i == 0 else None)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _soup_line(metrics: dict[str, Any]) -> str:
    soup = metrics.get("soup")
    if not soup:
        return ""
    accs = ", ".join(f"{a:.4f}" for a in soup["member_val_accuracy"])
    return (
        f"- Weights: the average of {soup['members']} fine-tuning runs from the same start (a model soup);\n"
        f"  the members alone had validation accuracy {accs}.\n"
    )


def write_model_card(path: Path, info: dict[str, Any]) -> None:
    m = info["metrics"]
    rows = "\n".join(
        f"| {name} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
        for name, v in m["per_class"].items()
    )
    sources = "\n".join(f"- {k}: {v} crops" for k, v in info["crops_by_origin"].items())
    text = f"""# Model card: maskwatch mask classifier

- Trained: {info["date"]}
- Architecture: MobileNetV2 alpha {info["alpha"]}, input {info["input_size"]}x{info["input_size"]} RGB
  (pixels 0-255, scaled inside the model), three-class softmax head.
- Initialisation: {info["weights"] or "from scratch"}
- Export: TFLite, {info["quantization"]}, {info["tflite_bytes"] / 1e6:.2f} MB.
  Keras vs TFLite: max probability difference {info["agreement"]["max_abs_prob_diff"]:.4f},
  top-1 agreement {info["agreement"]["top1_agreement"]:.4f}.
- Classes: {", ".join(info["labels"])}
{_soup_line(m)}
## Reproduce

```
{info["command"]}
```

## Data

{info["n_train"]} training and {info["n_val"]} validation crops (validation held out by source image):

{sources}

Augmentation: low-resolution simulation, blur, JPEG artefacts, colour and brightness jitter,
rotation up to 12 degrees, box jitter, horizontal flips. Class weights balance the classes.
The ILC `test` split was never used for training or tuning.

## Validation metrics (held-out crops)

Accuracy {m["accuracy"]:.4f}.

| class | precision | recall | F1 | support |
|---|---|---|---|---|
{rows}

Scene-level numbers (detector + classifier on the ILC test split) are in the README.
"""
    path.write_text(text)


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
