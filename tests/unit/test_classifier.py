"""The shipped classifier on the LiteRT interpreter: loading, batching, and real accuracy."""

from pathlib import Path

import numpy as np
import pytest

from maskwatch.config import AnalyzerConfig, DetectorConfig
from maskwatch.errors import ModelFileError
from maskwatch.images import read_bgr
from maskwatch.inference.analyzer import FaceAnalyzer
from maskwatch.inference.classifier import SHIPPED_CLASSIFIER, MaskClassifier
from maskwatch.inference.crops import crop_face
from maskwatch.labels import CLASSES, UNDETERMINED
from maskwatch.voc import read_dataset, read_split


def test_shipped_model_is_small_and_loads() -> None:
    assert SHIPPED_CLASSIFIER.stat().st_size <= 5_000_000
    clf = MaskClassifier(SHIPPED_CLASSIFIER)
    assert clf.input_size >= 64


def test_missing_and_invalid_model_files(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist"):
        MaskClassifier(tmp_path / "none.tflite")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelFileError, match="not a valid TFLite file"):
        MaskClassifier(bad)


def test_batching_gives_the_same_probabilities() -> None:
    clf = MaskClassifier(SHIPPED_CLASSIFIER, batch_size=3)
    s = clf.input_size
    crops = np.random.default_rng(1).integers(0, 255, (7, s, s, 3), dtype=np.uint8)
    batched = clf.predict(crops)  # batches of 3, 3 and 1
    single = np.concatenate([clf.predict(crops[i : i + 1]) for i in range(7)])
    assert batched.shape == (7, len(CLASSES))
    np.testing.assert_allclose(batched, single, atol=1e-5)
    np.testing.assert_allclose(batched.sum(axis=1), 1.0, atol=1e-3)
    assert clf.predict(crops[:0]).shape == (0, len(CLASSES))
    with pytest.raises(ValueError, match="crops must be"):
        clf.predict(crops[:, :10])


def test_faces_below_minimum_are_undetermined() -> None:
    from devtools.demo_media import DEMO_SCENES, render_scene

    frame = render_scene(DEMO_SCENES["hall"])
    tiny = FaceAnalyzer(AnalyzerConfig(detector=DetectorConfig(min_face_size=500)))
    faces = tiny.analyze(frame)
    assert faces and all(f.label == UNDETERMINED and not f.probs for f in faces)


@pytest.mark.shared
def test_classifier_accuracy_on_real_test_faces(ilc: Path) -> None:
    """Ground-truth face crops from the ILC test split (never trained on)."""
    clf = MaskClassifier(SHIPPED_CLASSIFIER)
    crops, labels = [], []
    for item in read_dataset(ilc, read_split(ilc / "test.txt")[:120]):
        image = read_bgr(item.image_path)
        for obj in item.objects:
            if obj.box[3] - obj.box[1] >= 24:
                crops.append(crop_face(image, obj.box, clf.input_size))
                labels.append(CLASSES.index(obj.label))
    pred = clf.predict(np.stack(crops)).argmax(axis=1)
    accuracy = float(np.mean(pred == np.array(labels)))
    assert len(labels) > 150
    assert accuracy >= 0.85, f"accuracy {accuracy:.3f} on {len(labels)} real faces"
