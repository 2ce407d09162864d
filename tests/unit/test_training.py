"""The training path end to end on a tiny subset: crops, one short epoch, TFLite export, reports."""

import json
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

if TYPE_CHECKING:
    from maskwatch.training.config import TrainConfig

pytestmark = [pytest.mark.training, pytest.mark.shared, pytest.mark.slow]


@pytest.fixture(scope="module")
def tf_available() -> None:
    pytest.importorskip("tensorflow", reason="training needs the `train` extra (TensorFlow)")


def tiny_config(shared: Path, out_dir: Path, **fields: object) -> "TrainConfig":
    """One short epoch of each phase on alpha 0.35."""
    from maskwatch.training.config import TrainConfig

    return TrainConfig.model_validate(
        {
            "out_dir": out_dir,
            "weights": shared / "weights" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5",
            "batch_size": 16,
            "epochs_head": 1,
            "epochs_finetune": 1,
            "val_fraction": 0.3,
            **fields,
        }
    )


def test_tiny_training_run(tf_available: None, shared: Path, tmp_path: Path) -> None:
    from maskwatch.inference.classifier import MaskClassifier
    from maskwatch.inference.crops import crop_face
    from maskwatch.training.train import run_training

    ds = shared / "datasets"
    config = tiny_config(
        shared,
        tmp_path / "run",
        input_size=96,
        sources=[
            {"kind": "folders", "path": ds / "face-crops-chandrikadeb7", "limit": 24},
            {
                "kind": "voc",
                "path": ds / "scenes-ilc2021",
                "split": ds / "scenes-ilc2021" / "train.txt",
                "limit": 12,
            },
            {"kind": "photos", "path": ds / "masked-people-rmfd", "label": "with_mask", "limit": 8},
        ],
    )
    result = run_training(config, command="pytest tiny run")
    out = result.out_dir
    for name in (
        "mask_classifier.keras",
        "mask_classifier.tflite",
        "metrics.json",
        "MODEL_CARD.md",
        "confusion_matrix.png",
        "training_curves.png",
    ):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["per_class"]) == {"with_mask", "without_mask", "mask_incorrect"}
    assert "soup" not in metrics and not (out / "members").exists()  # a single run
    # float16 weights move this briefly trained model's probabilities by up to 0.065 from run to run
    # (TensorFlow's CPU training is not bit-reproducible): a bound on gross errors only...
    agreement = metrics["tflite_agreement"]
    assert agreement["max_abs_prob_diff"] < 0.15 and agreement["top1_agreement"] >= 0.9, agreement
    # ...while the same model exported in float32 must give Keras' probabilities through the
    # runtime's own preprocessing (measured: within 5e-6; with the channels swapped, 0.33 apart).
    import keras

    from devtools.demo_media import DEMO_SCENES, render_scene
    from maskwatch.training.export import export_tflite, tflite_agreement

    crops = np.stack(
        [
            crop_face(
                render_scene(people), (p.centre[0] - 40, p.centre[1] - 40, p.centre[0] + 40, p.centre[1] + 40), 96
            )
            for people in DEMO_SCENES.values()
            for p in people
        ]
    )
    model = keras.models.load_model(out / "mask_classifier.keras")
    exact = tflite_agreement(model, export_tflite(model, tmp_path / "f32.tflite", "float32", crops), crops)
    assert exact["max_abs_prob_diff"] < 1e-3, exact
    clf = MaskClassifier(result.tflite_path)
    assert clf.input_size == 96
    assert clf.predict(np.zeros((2, 96, 96, 3), np.uint8)).shape == (2, 3)
    assert "pytest tiny run" in (out / "MODEL_CARD.md").read_text()


def test_bad_sources_fail_clearly(tf_available: None, tmp_path: Path) -> None:
    from maskwatch.training.config import TrainConfig
    from maskwatch.training.sources import DataError, load_sources

    (tmp_path / "crops").mkdir()
    config = TrainConfig.model_validate({"sources": [{"kind": "folders", "path": tmp_path / "crops"}]})
    with pytest.raises(DataError, match="one sub-folder per class"):
        load_sources(config)
    (tmp_path / "crops" / "hats").mkdir()
    from maskwatch.labels import UnknownLabelError

    with pytest.raises(UnknownLabelError, match="'hats'"):
        load_sources(config)
    photos = TrainConfig.model_validate({"sources": [{"kind": "photos", "path": tmp_path}]})
    with pytest.raises(DataError, match="needs 'label'"):
        load_sources(photos)
    missing = TrainConfig.model_validate({"sources": [{"kind": "synthetic", "path": tmp_path / "nowhere"}]})
    with pytest.raises(DataError, match="nowhere: no such folder"):
        load_sources(missing)
    (tmp_path / "blank.png").write_bytes(cv2.imencode(".png", np.full((64, 64, 3), 128, np.uint8))[1].tobytes())
    no_faces = TrainConfig.model_validate({"sources": [{"kind": "synthetic", "path": tmp_path}]})
    with pytest.raises(DataError, match="source gave no faces"):
        load_sources(no_faces)


def test_soup_averages_its_members(tf_available: None, shared: Path, tmp_path: Path) -> None:
    import keras

    from maskwatch.inference.classifier import MaskClassifier
    from maskwatch.training.train import run_training

    config = tiny_config(
        shared,
        tmp_path / "soup",
        input_size=64,
        soup_members=2,
        sources=[{"kind": "folders", "path": shared / "datasets" / "face-crops-chandrikadeb7", "limit": 24}],
    )
    result = run_training(config, command="pytest soup")
    out = result.out_dir
    soup = keras.models.load_model(result.keras_path)
    members = []
    for k in (1, 2):
        member = keras.models.clone_model(soup)
        member.load_weights(out / "members" / f"member-{k}.weights.h5")
        members.append(member.get_weights())
    assert not all(np.array_equal(a, b) for a, b in zip(*members, strict=True)), "the members did not differ"
    for got, *mine in zip(soup.get_weights(), *members, strict=True):
        np.testing.assert_allclose(got, np.mean(mine, axis=0), rtol=1e-6, atol=1e-7)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["soup"]["members"] == 2 and len(metrics["soup"]["member_val_accuracy"]) == 2
    assert "average of 2 fine-tuning runs" in (out / "MODEL_CARD.md").read_text()
    assert MaskClassifier(out / "members" / "member-2.tflite").input_size == 64
