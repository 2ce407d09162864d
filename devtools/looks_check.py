"""How well an appearance embedding tells people apart, measured on clips whose people are known.

    python -m devtools.looks_check TRUTH_DIR [--every 0.5] [--clips 12]

For each clip, faces are detected every `--every` seconds and matched to the truth's people
(IoU 0.3); each face gets every candidate embedding. Pairs of faces of one clip are then "same
person" or "different people", and for each source this prints the distance distributions, the
ROC AUC of telling the two apart, and the cost per face:

- `colour`: the shipped one (maskwatch.appearance): colour histograms of head and chest;
- `classifier`: the mask classifier's own pooled features (1280 values before its last layer),
  read from the LiteRT interpreter with all tensors kept; cosine distance.
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
from ai_edge_litert.interpreter import Interpreter
from tqdm import tqdm

from devtools.machine import describe_cpu
from maskwatch import appearance
from maskwatch.app.evaluation.truth import load_truth
from maskwatch.boxes import iou_matrix
from maskwatch.config import Settings
from maskwatch.inference.analyzer import FaceAnalyzer
from maskwatch.inference.classifier import classifier_path
from maskwatch.inference.crops import crop_face

Embedder = Callable[[np.ndarray, tuple[float, float, float, float]], np.ndarray]


class PooledFeatures:
    """The classifier's global-average-pooled features for one face crop."""

    def __init__(self, model: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # keeping all tensors is what this measurement needs
            self.interp = Interpreter(model_path=str(model), experimental_preserve_all_tensors=True, num_threads=1)
        self.interp.allocate_tensors()
        inp = self.interp.get_input_details()[0]
        self.size = int(inp["shape"][1])
        self.input = inp["index"]
        self.dtype = inp["dtype"]
        self.pooled = next(
            d["index"]
            for d in self.interp.get_tensor_details()
            if "global_average_pooling" in d["name"] and len(d["shape"]) == 2 and d["shape"][-1] > 3
        )

    def __call__(self, image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        crop = crop_face(image, box, self.size)[None].astype(self.dtype)
        self.interp.set_tensor(self.input, crop)
        self.interp.invoke()
        v = np.asarray(self.interp.get_tensor(self.pooled)[0], dtype=np.float32)
        return v / max(float(np.linalg.norm(v)), 1e-9)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(1.0 - a @ b)


def _colour(a: np.ndarray, b: np.ndarray) -> float:
    d = appearance.distance(a, b)
    return 1.0 if d is None else d


def _faces(truth_path: Path, analyzer: FaceAnalyzer, every: float) -> list[tuple[str, np.ndarray, tuple]]:
    """(person id, frame, box) of each detected face that matches a person of the truth."""
    truth, clip = load_truth(truth_path)
    out = []
    next_t = 0.0
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            if t + 1e-6 < next_t:
                continue
            next_t = t + every
            image = frame.to_ndarray(format="bgr24")
            present = [(p.id, p.box_at(t)) for p in truth.people]
            present = [(pid, b) for pid, b in present if b is not None]
            dets = [d for d in analyzer.detector.detect(image) if d.box[3] - d.box[1] >= 24]
            if not present or not dets:
                continue
            ious = iou_matrix(np.array([d.box for d in dets]), np.array([b for _, b in present]))
            for i, det in enumerate(dets):
                j = int(np.argmax(ious[i]))
                if ious[i, j] >= 0.3:
                    out.append((present[j][0], image, det.box))
    return out


def _auc(same: list[float], other: list[float]) -> float:
    """Probability that a same-person pair is closer than a different-people pair."""
    s, o = np.sort(np.asarray(same)), np.asarray(other)
    below = np.searchsorted(s, o, side="left")
    ties = np.searchsorted(s, o, side="right") - below
    return float((below + 0.5 * ties).sum() / (len(s) * len(o)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("truth", type=Path, help="a folder of *.truth.json")
    parser.add_argument("--every", type=float, default=0.5, help="seconds between sampled frames")
    parser.add_argument("--clips", type=int, default=12, help="at most this many clips")
    args = parser.parse_args()
    settings = Settings()
    analyzer = FaceAnalyzer(settings.analyzer, embed=False)
    sources: dict[str, tuple[Embedder, Callable[[np.ndarray, np.ndarray], float]]] = {
        "colour": (appearance.embed, _colour),
        "classifier": (PooledFeatures(classifier_path(settings.analyzer.classifier)), _cosine),
    }
    pairs: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in sources}
    cost: dict[str, list[float]] = {name: [] for name in sources}
    files = sorted(args.truth.glob("*.truth.json"))[: args.clips]
    for path in tqdm(files, desc="clips"):
        faces = _faces(path, analyzer, args.every)
        for name, (embed, dist) in sources.items():
            t0 = time.perf_counter()
            vecs = [embed(img, box) for _, img, box in faces]
            cost[name].append((time.perf_counter() - t0) * 1000 / max(len(faces), 1))
            same, other = pairs[name]
            for (a, va), (b, vb) in itertools.combinations(zip([f[0] for f in faces], vecs, strict=True), 2):
                (same if a == b else other).append(dist(va, vb))
    print(f"CPU: {describe_cpu()}")
    print(f"{'source':<11} {'same p50':>8} {'same p95':>8} {'other p5':>8} {'other p50':>9} {'AUC':>6} {'ms/face':>8}")
    for name, (same, other) in pairs.items():
        sp, op = np.percentile(same, [50, 95]), np.percentile(other, [5, 50])
        print(
            f"{name:<11} {sp[0]:>8.3f} {sp[1]:>8.3f} {op[0]:>8.3f} {op[1]:>9.3f} {_auc(same, other):>6.3f} "
            f"{np.mean(cost[name]):>8.3f}"
        )
    print(f"pairs: {len(pairs['colour'][0])} same person, {len(pairs['colour'][1])} different people")


if __name__ == "__main__":
    main()
