"""The command line behaves as click tools do: --version, help by purpose, -v anywhere, --json on
standard output and --out FILE, user errors in one line with exit status 2, the config found by
--config, then $MASKWATCH_CONFIG, then ./maskwatch.yaml."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session

from maskwatch.app.cli import cli, main
from maskwatch.storage.db import open_database
from maskwatch.storage.models import Camera

REPO = Path(__file__).resolve().parents[2]
SECTIONS = ("Run:", "Review:", "Operate:", "Model:")


def write_config(path: Path, **sections: object) -> Path:
    path.write_text(yaml.safe_dump(sections))
    return path


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    """A config with camera `door`, over a database that also knows camera `old-gate`."""
    db = tmp_path / "site.db"
    engine = open_database(f"sqlite:///{db}")
    with Session(engine) as s, s.begin():
        s.add(Camera(id="old-gate", name="Old gate", url="rtsp://127.0.0.1/old"))
    engine.dispose()
    camera = {"id": "door", "name": "Door", "url": "rtsp://127.0.0.1/door"}
    return write_config(tmp_path / "site.yaml", cameras=[camera], database={"url": f"sqlite:///{db}"})


def test_version_is_the_package_version() -> None:
    done = subprocess.run([sys.executable, "-m", "maskwatch", "--version"], capture_output=True, text=True)
    assert (done.returncode, done.stdout.strip()) == (0, f"maskwatch {version('maskwatch')}")


def test_bare_maskwatch_prints_help_with_every_command_in_a_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    positions = [out.index(title) for title in SECTIONS]
    assert positions == sorted(positions)
    assert "Other commands" not in out  # every command has its purpose
    for name in cli.commands:
        assert f"\n  {name} " in out, name
    assert "$MASKWATCH_CONFIG" in out and "./maskwatch.yaml" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["-v", "config", "check"],
        ["config", "check", "-v"],
        ["config", "-v", "check"],
        ["--verbose", "config", "check", "--verbose"],
    ],
)
def test_verbose_before_or_after_the_command(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    assert logging.getLogger().level == logging.DEBUG
    assert "built-in defaults: valid" in capsys.readouterr().err


def test_without_verbose_logging_stays_at_info() -> None:
    assert main(["config", "check"]) == 0
    assert logging.getLogger().level == logging.INFO


def test_json_goes_to_standard_output_and_out_to_a_file(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cameras", "status", "--config", str(site), "--json"]) == 0
    assert [c["camera_id"] for c in json.loads(capsys.readouterr().out)] == ["old-gate"]
    assert main(["events", "list", "--config", str(site), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    out = tmp_path / "reports" / "week.json"
    assert main(["report", "--config", str(site), "--format", "json", "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert "cameras" in json.loads(out.read_text())


def test_detect_json_on_standard_output_lines_on_standard_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from devtools.demo_media import write_demo_images

    images = write_demo_images(tmp_path / "scenes")
    entrance = next(p for p in images if p.stem == "entrance")
    assert main(["detect", str(entrance), "--json", "--out", str(tmp_path / "r.json")]) == 0
    said = capsys.readouterr()
    shown = json.loads(said.out)  # nothing else on standard output
    assert len(shown["entrance"]) == len(images[entrance])
    assert f"{entrance}: " in said.err
    assert json.loads((tmp_path / "r.json").read_text()) == shown
    assert main(["detect", str(entrance)]) == 0  # without --json: one line per image
    assert capsys.readouterr().out.startswith(f"{entrance}: ")


def test_bench_json_is_the_pipeline_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--json"]) == 2  # the single-core timings have no report
    assert "add --cameras K" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["events", "list", "--config", "{tmp}/missing.yaml"], "missing.yaml: no such config file"),
        (["events", "list", "--config", "{tmp}/bad.yaml"], "bad.yaml: invalid configuration: cameras.0.sample_fps"),
        (
            ["events", "list", "--config", "{tmp}/bad.yaml"],
            "; database.url: Input should be",
        ),  # every problem, one line
        (["events", "list", "--config", "{tmp}/nodb.yaml"], "no database at"),
        (["events", "list", "--config", "{tmp}/nodb.yaml", "--since", "yesterday"], "--since 'yesterday'"),
        (["events", "list", "--limit", "0"], "Invalid value for '--limit'"),
        (["events", "lst"], "No such command 'lst'"),
        (["serve", "--config", "{tmp}/nodb.yaml"], "web.users is empty"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(
    argv: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {"cameras": [{"id": "a", "name": "A", "url": "rtsp://h/s", "sample_fps": -1}], "database": {"url": 5}}
    write_config(tmp_path / "bad.yaml", **bad)
    write_config(tmp_path / "nodb.yaml", database={"url": f"sqlite:///{tmp_path}/none.db"})
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    if "No such" not in said and "Invalid value" not in said:  # usage errors come with the usage
        assert err.startswith("Error: ") and len(err.strip().splitlines()) == 1, err


def test_the_shell_sees_one_line_and_status_2(tmp_path: Path) -> None:
    """Through the installed entry point: no log timestamp, no traceback."""
    cfg = write_config(tmp_path / "c.yaml", database={"url": f"sqlite:///{tmp_path}/none.db"})
    done = subprocess.run(
        [sys.executable, "-m", "maskwatch", "events", "list", "--config", str(cfg)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr == f"Error: no database at {tmp_path}/none.db: check database.url, or start maskwatch first\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["events", "list"],
        ["cameras", "gaps"],
        ["report"],
        ["privacy", "erase", "--from", "2d", "--to", "0m"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_an_unknown_camera_is_an_error_listing_the_known_ones(
    argv: list[str], site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--config", str(site), "--camera", "dor"]) == 2
    assert "no camera 'dor' (cameras: door, old-gate)" in capsys.readouterr().err
    # a camera known only to the database (removed from the config) still answers
    assert main([*argv, "--config", str(site), "--camera", "old-gate"]) == 0


def test_config_comes_from_the_option_then_the_environment_then_the_folder(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.delenv("MASKWATCH_CONFIG", raising=False)
    assert main(["cameras", "status"]) == 2  # the built-in defaults' database is not there
    # said in full, and why: a relative path is read from the current directory
    assert f"no database at {here}/data/maskwatch.db (relative paths are read from the current directory)" in (
        capsys.readouterr().err
    )

    write_config(here / "maskwatch.yaml", database={"url": f"sqlite:///{tmp_path}/local.db"})
    assert main(["cameras", "status"]) == 2
    assert "no database at " + str(tmp_path / "local.db") in capsys.readouterr().err

    monkeypatch.setenv("MASKWATCH_CONFIG", str(site))
    assert main(["cameras", "status", "--json"]) == 0  # the environment's config wins over the folder's
    assert [c["camera_id"] for c in json.loads(capsys.readouterr().out)] == ["old-gate"]

    assert main(["cameras", "status", "--config", "maskwatch.yaml"]) == 2  # and the option over both
    assert "local.db" in capsys.readouterr().err


def test_config_check_takes_the_file_either_way(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["config", "check", str(site)], ["config", "check", "--config", str(site)]):
        assert main(argv) == 0
        assert f"{site}: valid (1 camera(s))" in capsys.readouterr().err
    assert main(["config", "check", str(site), "--config", str(REPO / "configs" / "demo.yaml")]) == 2
    assert "two config files" in capsys.readouterr().err


def test_only_the_console_needs_its_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WEB_SESSION_SECRET", raising=False)
    monkeypatch.delenv("WEB_ADMIN_HASH", raising=False)
    cfg = write_config(
        tmp_path / "c.yaml",
        database={"url": f"sqlite:///{tmp_path}/m.db"},
        web={
            "session_secret": "${WEB_SESSION_SECRET}",
            "users": [{"name": "admin", "password_hash": "${WEB_ADMIN_HASH}", "role": "reviewer"}],
        },
    )
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    assert main(["events", "list", "--config", str(cfg)]) == 0
    capsys.readouterr()
    for console in (["serve"], ["config", "check"]):
        assert main([*console, "--config", str(cfg)]) == 2
        err = capsys.readouterr().err
        assert "environment variable(s) not set: WEB_ADMIN_HASH, WEB_SESSION_SECRET" in err


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("::1", "http://[::1]:8080"),
        ("0.0.0.0", "http://127.0.0.1:8080 (listening on every interface, 0.0.0.0)"),
    ],
)
def test_serve_prints_an_address_a_browser_opens(host: str, shown: str) -> None:
    from maskwatch.app.cli_serve import console_url

    assert console_url(host, 8080) == shown


@pytest.mark.parametrize("argv", [["run"], ["ingest"], ["cameras", "preview", "door"]], ids=" ".join)
def test_without_a_config_file_the_error_says_how_to_give_one(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./maskwatch.yaml
    monkeypatch.delenv("MASKWATCH_CONFIG", raising=False)
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "Error: no config file: pass --config FILE, set $MASKWATCH_CONFIG, or create ./maskwatch.yaml "
        "(no cameras configured in the built-in defaults)\n"
    )


def test_a_config_without_cameras_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path / "empty.yaml", database={"url": f"sqlite:///{tmp_path}/m.db"})
    assert main(["run", "--config", str(cfg)]) == 2
    assert capsys.readouterr().err == f"Error: {cfg}: no cameras configured\n"


def test_verbose_says_which_config_was_read_and_why(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.delenv("MASKWATCH_CONFIG", raising=False)
    queue = "redis://:Qpass1@redis.internal:6379/0"
    write_config(
        here / "maskwatch.yaml",
        database={"url": "postgresql+psycopg2://mw:Dbpass2@127.0.0.1:1/mw"},
        queue={"url": queue},
    )

    def said(*argv: str) -> str:
        main(["cameras", "status", *argv])
        err = capsys.readouterr().err
        assert "Dbpass2" not in err and "Qpass1" not in err
        return err

    assert "config:" not in said()  # quiet without -v
    err = said("-v")
    assert f"DEBUG maskwatch.app.shared: config: {here}/maskwatch.yaml (from ./maskwatch.yaml of the current" in err
    assert "database: postgresql+psycopg2://mw:***@127.0.0.1:1/mw" in err
    assert "queue: redis://:***@redis.internal:6379/0" in err
    assert f"snapshots.dir data/snapshots is read as {here}/data/snapshots" in err
    assert f"config: {site} (from the command line)" in said("-v", "--config", str(site))
    monkeypatch.setenv("MASKWATCH_CONFIG", str(site))
    assert f"config: {site} (from $MASKWATCH_CONFIG)" in said("-v")
    monkeypatch.delenv("MASKWATCH_CONFIG")
    (here / "maskwatch.yaml").unlink()
    assert "config: no config file (no --config, $MASKWATCH_CONFIG unset, no ./maskwatch.yaml" in said("-v")


def test_config_check_says_where_relative_paths_lead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["config", "check", str(REPO / "configs" / "demo.yaml")]) == 0
    err = capsys.readouterr().err
    assert (
        f"database.url demo-output/maskwatch.db is read from the current directory: here {tmp_path}/demo-output/" in err
    )
    assert f"cameras[entrance].url demo-output/entrance.mp4 is read from the current directory: here {tmp_path}/" in err


def test_a_missing_recording_is_named_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = write_config(tmp_path / "c.yaml", cameras=[{"id": "a", "name": "A", "url": "clips/none.mp4"}])
    assert main(["cameras", "preview", "a", "--config", str(cfg), "--out", str(tmp_path / "p.jpg")]) == 1
    err = capsys.readouterr().err
    assert f"no such file ({tmp_path}/clips/none.mp4: relative paths are read from the current directory)" in err
