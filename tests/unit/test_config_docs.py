"""docs/configuration.md is generated from the configuration model and kept current: every key of
every section is in it, with the bounds the model enforces."""

from __future__ import annotations

import re
from pathlib import Path

import annotated_types
import pytest
from pydantic import BaseModel

from devtools import config_docs
from maskwatch.config import Settings


def test_the_committed_reference_is_what_the_model_gives() -> None:
    assert config_docs.DOC.read_text() == config_docs.render(), (
        "docs/configuration.md is stale: run `python -m devtools.config_docs`"
    )


def _fields(model: type[BaseModel], path: str) -> list[tuple[str, str, type[BaseModel]]]:
    """(table path, key, model) for every key of `model` and of the sections inside it."""
    out = [(path, name, model) for name in model.model_fields]
    for name, info in model.model_fields.items():
        inner = config_docs._model_in(info.annotation)
        if inner is not None:
            out += _fields(inner, f"{path}.{name}" + ("[]" if config_docs._is_list(info.annotation) else ""))
    return out


def _tables(text: str) -> dict[str, list[str]]:
    """Each heading's paths, mapped to the rows of the table below it."""
    tables: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            current = []
            for path in re.findall(r"`([^`]+)`", line):
                tables[path] = current
        elif line.startswith("| `"):
            current.append(line)
    return tables


def test_every_key_has_a_row_with_its_bounds() -> None:
    tables = _tables(config_docs.render())
    keys = []
    for name, info in Settings.model_fields.items():
        inner = config_docs._model_in(info.annotation)
        assert inner is not None, name
        keys += _fields(inner, name + ("[]" if config_docs._is_list(info.annotation) else ""))
    assert len(keys) > 80
    for path, key, model in keys:
        rows = [r for r in tables.get(path, []) if r.startswith(f"| `{key}` |")]
        assert len(rows) == 1, f"{path}.{key} is not in docs/configuration.md"
        info = model.model_fields[key]
        for bound in info.metadata:
            if isinstance(bound, annotated_types.Le):
                assert f"≤ {bound.le}" in rows[0], (path, key)
            if isinstance(bound, annotated_types.Gt):
                assert f"> {bound.gt}" in rows[0], (path, key)


def test_types_defaults_and_entry_bounds_are_spelled_out() -> None:
    tables = _tables(config_docs.render())
    (fps,) = [r for r in tables["cameras[]"] if r.startswith("| `sample_fps` |")]
    assert fps.split(" | ")[1:4] == ["number", "`2.0`", "> 0, ≤ 30"]
    (decode,) = [r for r in tables["cameras[]"] if r.startswith("| `decode` |")]
    assert "one of: auto, all, keyframes" in decode and '`"auto"`' in decode
    (points,) = [r for r in tables["cameras[].watch_areas[]"] if r.startswith("| `points` |")]
    assert "3–64 entries, each ≥ 0, ≤ 1" in points
    (url,) = [r for r in tables["cameras[]"] if r.startswith("| `url` |")]
    assert "| required |" in url


def test_check_fails_on_a_stale_file_and_passes_on_a_current_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "configuration.md"
    assert config_docs.main(["--check", "--out", str(out)]) == 1  # missing
    out.write_text(config_docs.render().replace("Frames per second", "Frames a second"))
    assert config_docs.main(["--check", "--out", str(out)]) == 1
    assert "stale" in capsys.readouterr().err
    assert config_docs.main(["--out", str(out)]) == 0
    assert config_docs.main(["--check", "--out", str(out)]) == 0
