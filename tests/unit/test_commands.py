"""The user-facing commands, run through the real CLI entry point."""

import json
from pathlib import Path

import numpy as np
import pytest

from devtools.demo_media import write_demo_images
from maskwatch.app.cli import main
from maskwatch.labels import CLASSES, MASK_INCORRECT, UNDETERMINED, WITH_MASK, WITHOUT_MASK


@pytest.fixture(scope="module")
def demo_images(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, list]:
    return write_demo_images(tmp_path_factory.mktemp("scenes"))


def test_detect_reports_bad_files_and_finishes_the_rest(demo_images: dict, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff garbage")
    out = tmp_path / "out.json"
    code = main(
        ["detect", *map(str, demo_images), str(corrupt), "--out", str(out), "--annotate", str(tmp_path / "ann")]
    )
    assert code == 1  # one input failed...
    results = json.loads(out.read_text())
    assert set(results) == {p.stem for p in demo_images}  # ...and every other one was done
    assert sorted(p.name for p in (tmp_path / "ann").iterdir()) == sorted(p.name for p in demo_images)
    face = results["entrance"][0]
    assert set(face) == {"box", "label", "score", "face_score", "probs"}
    assert face["score"] == pytest.approx(face["face_score"] * face["probs"][face["label"]], abs=1e-4)


def test_detect_labels_the_demo_people(demo_images: dict, tmp_path: Path) -> None:
    """Every rendered person is found at the right place, and masked vs unmasked is told apart."""
    out = tmp_path / "out.json"
    assert main(["detect", *map(str, demo_images), "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    for path, people in demo_images.items():
        faces = results[path.stem]
        assert len(faces) == len(people), path.stem
        by_x = sorted(faces, key=lambda f: f["box"][0])
        for person, face in zip(sorted(people, key=lambda p: p.centre[0]), by_x, strict=True):
            x1, y1, x2, y2 = face["box"]
            assert x1 < person.centre[0] < x2 and y1 < person.centre[1] < y2
            assert face["label"] in CLASSES
            if person.label == WITHOUT_MASK:
                assert face["label"] == WITHOUT_MASK, (path.stem, person, face)
            else:
                assert face["label"] in (WITH_MASK, MASK_INCORRECT), (path.stem, person, face)


def test_detect_empty_folder_and_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["detect", str(tmp_path / "empty")]) == 1  # it ran; an input had nothing to read
    capsys.readouterr()
    # A model file the user names that is not there: their error to fix, said in one line.
    assert main(["detect", str(tmp_path), "--detector", "yunet", "--detector-model", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert "x.onnx does not exist" in err and len(err.strip().splitlines()) == 1


def test_malformed_config_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("analyzer:\n  detector:\n    backend: resnet\n")
    assert main(["detect", str(tmp_path), "--config", str(cfg)]) == 2


def test_demo_runs_the_service_and_finds_exactly_the_violations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "configs" / "demo.yaml").read_text())
    config["cameras"][0]["url"] = str(tmp_path / "clip.mp4")
    config["database"]["url"] = f"sqlite:///{tmp_path / 'demo.db'}"
    config["snapshots"]["dir"] = str(tmp_path / "snaps")
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(config))
    # exit 0 only for exactly the two non-compliant people, each with its label
    assert main(["demo", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 violation(s) recorded" in out
    assert len(list((tmp_path / "snaps").rglob("*-frame.jpg"))) == 2


@pytest.mark.shared
def test_evaluate_on_real_scenes(ilc: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["evaluate", "--voc", str(ilc), "--split", str(ilc / "test.txt"), "--limit", "30", "--out", str(tmp_path)]
    )
    assert code == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["images"] == 30
    assert 0.5 < metrics["map50"] <= 1.0
    assert 0.5 < metrics["violation_ap50"] <= 1.0
    assert metrics["face_recall_ge32"] > 0.8
    assert metrics["label_accuracy"] > 0.8
    assert set(metrics["face_recall_by_height"]) == {"<16", "16-32", "32-64", ">=64"}
    assert (tmp_path / "pr_curves.png").stat().st_size > 10_000
    predictions = json.loads((tmp_path / "predictions.json").read_text())
    assert len(predictions) == 30
    assert all(f["label"] in (*CLASSES, UNDETERMINED) for faces in predictions.values() for f in faces)
    assert "mAP50" in capsys.readouterr().out


@pytest.mark.shared
def test_detect_with_yunet(yunet_model: Path, demo_images: dict, tmp_path: Path) -> None:
    out = tmp_path / "y.json"
    path = next(iter(demo_images))
    assert (
        main(["detect", str(path), "--detector", "yunet", "--detector-model", str(yunet_model), "--out", str(out)]) == 0
    )
    assert len(json.loads(out.read_text())[path.stem]) == len(demo_images[path])


def test_camera_preview_draws_the_areas_and_counts_the_faces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import cv2
    import yaml

    from devtools.demo_media import DEMO_SCENES, render_scene, write_clip

    scene = render_scene(DEMO_SCENES["entrance"])  # faces at x = 250, 640, 1030
    clip = write_clip(tmp_path / "entrance.mp4", [scene] * 5, fps=5)
    camera = {
        "id": "door",
        "name": "Door",
        "url": str(clip),
        "watch_areas": [{"x1": 0, "y1": 0, "x2": 0.6, "y2": 1}],
        "ignore_areas": [{"x1": 0.4, "y1": 0, "x2": 0.6, "y2": 0.6}],
    }
    cfg = tmp_path / "site.yaml"
    cfg.write_text(yaml.safe_dump({"cameras": [camera, {**camera, "id": "gone", "url": str(tmp_path / "no.mp4")}]}))
    out = tmp_path / "preview.jpg"
    assert main(["cameras", "preview", "door", "--config", str(cfg), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "1280x720; 3 face(s): 1 counted, 2 left out" in said
    assert "searches 896x720 px (70 % of the picture)" in said  # 0-0.6 of the width, grown by 128 px
    drawn = cv2.imread(str(out))
    assert drawn is not None and drawn.shape == scene.shape
    # The ignore area is shaded red; the picture outside every area is as the camera sent it.
    inside, outside = (slice(20, 60), slice(560, 700)), (slice(650, 700), slice(1200, 1260))

    def redness(image: np.ndarray) -> float:
        return float(image[inside][..., 2].mean() - image[inside][..., 0].mean())

    assert redness(drawn) > redness(scene) + 30
    assert np.abs(drawn[outside].astype(int) - scene[outside]).mean() < 6  # JPEG twice
    # A faint grid at every tenth of the picture, the fractions areas are written in.
    row = round(720 * 0.9)
    assert drawn[row, 1200:1260].astype(int).mean() > scene[row, 1200:1260].astype(int).mean() + 15
    assert "the grid marks tenths of the picture" in said

    assert main(["cameras", "preview", "gone", "--config", str(cfg), "--out", str(out)]) == 1
    assert "camera gone" in capsys.readouterr().err
    assert main(["cameras", "preview", "nope", "--config", str(cfg)]) == 2
    assert "no camera 'nope' (cameras: door, gone)" in capsys.readouterr().err
