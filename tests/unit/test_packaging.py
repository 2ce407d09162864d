"""What installing maskwatch puts in site-packages: one import name, and none of the tooling."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    # Built from the checkout with the setuptools of the environment (no download). setuptools
    # stages the files in the checkout's build/ (ignored by git), which is removed afterwards.
    existed = (REPO / "build").exists()
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(build), "TMPDIR": str(build), "PIP_NO_INDEX": "1"},
        cwd=build,
    )
    if not existed:
        shutil.rmtree(REPO / "build", ignore_errors=True)
    (path,) = out.glob("maskwatch-*.whl")
    return zipfile.ZipFile(path)


@pytest.fixture(scope="module")
def wheel_names(wheel: zipfile.ZipFile) -> list[str]:
    return wheel.namelist()


def test_the_wheel_adds_only_maskwatch_to_site_packages(wheel_names: list[str]) -> None:
    top = {name.split("/")[0] for name in wheel_names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"maskwatch"}


def test_the_stages_install_under_maskwatch(wheel_names: list[str]) -> None:
    for module in (
        "maskwatch/ingest/reader.py",
        "maskwatch/inference/worker.py",
        "maskwatch/storage/record/tracking.py",
        "maskwatch/alerts/dispatcher.py",
        "maskwatch/training/train.py",
        "maskwatch/console/app.py",
        "maskwatch/app/cli.py",
        "maskwatch/config/settings.py",
    ):
        assert module in wheel_names, module


def test_the_wheel_carries_its_data_and_no_tooling(wheel_names: list[str]) -> None:
    assert "maskwatch/inference/models/mask_classifier.tflite" in wheel_names
    assert "maskwatch/console/templates/base.html" in wheel_names
    for static in ("style.css", "triage.js", "bulk.js", "dashboard.js"):
        assert f"maskwatch/console/static/{static}" in wheel_names, static
    # The charting library is served from the package itself: no CDN, its licence beside it.
    for vendored in ("uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE", "README.md"):
        assert f"maskwatch/console/static/vendor/{vendored}" in wheel_names, vendored
    assert "maskwatch/storage/migrations/versions/0005_violation_frames.py" in wheel_names
    assert "maskwatch/storage/migrations/versions/0001_initial_schema.py" in wheel_names
    assert "maskwatch/py.typed" in wheel_names
    assert not [n for n in wheel_names if n.startswith(("devtools", "tests")) or "/devtools/" in n]


def test_the_command_is_the_composition_roots(wheel: zipfile.ZipFile) -> None:
    entry_points = next(n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    assert "maskwatch = maskwatch.app.cli:main" in wheel.read(entry_points).decode()
