"""Bad inputs get clear errors: VOC files, labels, images, folders, config files."""

from pathlib import Path

import numpy as np
import pytest

from maskwatch.config import ConfigError, load_settings, parse_settings
from maskwatch.images import ImageError, expand_paths, read_bgr
from maskwatch.labels import MASK_INCORRECT, UnknownLabelError, canonical_label
from maskwatch.voc import VocError, read_annotation, read_dataset

GOOD_OBJECT = (
    "<object><name>{name}</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>"
)


def write_voc(root: Path, body: str, stem: str = "a") -> Path:
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(exist_ok=True)
    (root / "images" / f"{stem}.jpg").write_bytes(b"x")
    xml = root / "annotations" / f"{stem}.xml"
    xml.write_text(f"<annotation><filename>{stem}.jpg</filename>{body}</annotation>")
    return xml


@pytest.mark.parametrize("name", ["mask_weared_incorrect", "with_incorrect_mask", "incorrect_mask", "Mask Incorrect"])
def test_incorrect_mask_synonyms(name: str) -> None:
    assert canonical_label(name) == MASK_INCORRECT


def test_unknown_label_names_the_label() -> None:
    with pytest.raises(UnknownLabelError, match="'helmet'"):
        canonical_label("helmet")


def test_voc_reads_and_maps_labels(tmp_path: Path) -> None:
    xml = write_voc(tmp_path, GOOD_OBJECT.format(name="mask_weared_incorrect"))
    item = read_annotation(xml, tmp_path / "images")
    assert item.objects[0].label == MASK_INCORRECT
    assert item.objects[0].box == (1, 2, 30, 40)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<object><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object>", "no <name>"),
        ("<object><name>with_mask</name></object>", "no <bndbox>"),
        (
            "<object><name>with_mask</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax></bndbox></object>",
            "<ymax>",
        ),
        (
            "<object><name>with_mask</name><bndbox><xmin>a</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object>",
            "not a number",
        ),
        (
            "<object><name>with_mask</name><bndbox><xmin>5</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object>",
            "empty box",
        ),
    ],
)
def test_voc_missing_or_bad_fields(tmp_path: Path, body: str, message: str) -> None:
    xml = write_voc(tmp_path, body)
    with pytest.raises(VocError, match=message) as info:
        read_annotation(xml, tmp_path / "images")
    assert str(xml) in str(info.value)


def test_voc_unknown_label(tmp_path: Path) -> None:
    xml = write_voc(tmp_path, GOOD_OBJECT.format(name="hat"))
    with pytest.raises(UnknownLabelError):
        read_annotation(xml, tmp_path / "images")


def test_voc_not_xml(tmp_path: Path) -> None:
    xml = write_voc(tmp_path, "")
    xml.write_text("<annotation>")
    with pytest.raises(VocError, match="not valid XML"):
        read_annotation(xml, tmp_path / "images")


def test_voc_dataset_layout_and_split(tmp_path: Path) -> None:
    with pytest.raises(VocError, match="annotations/ and images/"):
        read_dataset(tmp_path)
    write_voc(tmp_path, GOOD_OBJECT.format(name="with_mask"))
    with pytest.raises(VocError, match="missing"):
        read_dataset(tmp_path, ["a", "b"])
    assert [i.stem for i in read_dataset(tmp_path)] == ["a"]


def test_corrupt_image(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(ImageError, match="not a decodable image"):
        read_bgr(bad)
    with pytest.raises(ImageError, match="no such file"):
        read_bgr(tmp_path / "missing.jpg")


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="contains no images"):
        expand_paths([tmp_path])


def test_png_roundtrip(tmp_path: Path) -> None:
    import cv2

    cv2.imwrite(str(tmp_path / "x.png"), np.full((4, 5, 3), 7, np.uint8))
    assert read_bgr(tmp_path / "x.png").shape == (4, 5, 3)


def test_config_rejects_unknown_keys_and_bounds_with_paths() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"analyzer": {"detector": {"score_threshold": 2, "colour": "red"}}})
    text = str(info.value)
    assert "analyzer.detector.score_threshold" in text
    assert "analyzer.detector.colour" in text


def test_config_env_placeholders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MW_MODEL", str(tmp_path / "m.tflite"))
    settings = parse_settings({"analyzer": {"classifier": {"model_path": "${MW_MODEL}"}}})
    assert settings.analyzer.classifier.model_path == tmp_path / "m.tflite"
    monkeypatch.delenv("MW_MODEL")
    with pytest.raises(ConfigError, match="MW_MODEL"):
        parse_settings({"analyzer": {"classifier": {"model_path": "${MW_MODEL}"}}})


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config"):
        load_settings(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("analyzer: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &a [*a]\n", "alias refers to a node that contains it"),
        (
            "cameras: &c [{id: a, name: A, url: 'rtsp://h/s', watch_areas: *c}]\n",
            "alias refers to a node that contains it",
        ),
        ("analyzer: &x {detector: *x}\n", "alias refers to a node that contains it"),
        # Ten aliases of ten aliases...: a small file for 10^8 values.
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True)
            ),
            "more than 100000 values",
        ),
        ("a: " + "[" * 100 + "]" * 100 + "\n", "nested more than 64 levels"),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ],
    ids=["list", "camera", "mapping", "billion-laughs", "deep", "deeper-than-python"],
)
def test_config_structure_problems_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(cfg)
    assert len(str(info.value).splitlines()) == 1
