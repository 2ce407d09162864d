"""`maskwatch serve` as a user starts it: after the demo, one command opens the console, prints
where it listens and how to log in, and that login works; the password is made at each start."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from maskwatch.app.cli import main
from maskwatch.config import parse_settings
from tests.support.factories import record_violations

REPO = Path(__file__).resolve().parents[2]
PRINTED = re.compile(r"^console on (http://127\.0\.0\.1:\d+): log in as demo with password (\S+) ")


def demo_config(tmp_path: Path) -> Path:
    """configs/demo.yaml as shipped, its files moved under tmp_path, with two violations recorded."""
    config = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text())
    config["cameras"][0]["url"] = str(tmp_path / "entrance.mp4")
    config["database"]["url"] = f"sqlite:///{tmp_path / 'maskwatch.db'}"
    config["snapshots"]["dir"] = str(tmp_path / "snapshots")
    record_violations(parse_settings(config), n=2, camera_id=config["cameras"][0]["id"])
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(log: Path, *argv: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`maskwatch serve ...` in a process of its own (its logs to `log`); its first line of standard
    output, and the process."""
    with log.open("w") as logs:
        child = subprocess.Popen(
            [sys.executable, "-m", "maskwatch", "serve", *argv], stdout=subprocess.PIPE, stderr=logs, text=True
        )
    try:
        assert child.stdout is not None
        yield child.stdout.readline(), child
    finally:
        child.terminate()
        child.wait(10)


def log_in(client: httpx.Client, user: str, password: str) -> httpx.Response:
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert csrf is not None
    return client.post("/login", data={"username": user, "password": password, "csrf": csrf.group(1)})


def test_one_command_opens_the_console_on_the_demo_and_its_login_works(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    port = free_port()
    with serving(tmp_path / "1.log", "--config", str(config), "--demo-user", "--port", str(port)) as (line, _):
        printed = PRINTED.match(line)
        assert printed is not None, line + (tmp_path / "1.log").read_text()
        url, password = printed.groups()
        assert url == f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/login", timeout=5).status_code == 200  # printed once it serves, not before
        with httpx.Client(base_url=url, timeout=10) as client:
            assert log_in(client, "demo", password + "x").status_code == 401
            done = log_in(client, "demo", password)
            assert (done.status_code, done.headers["location"]) == (303, "/violations")
            page = client.get("/violations")
            assert page.status_code == 200 and "Entrance (demo clip)" in page.text
    # Another start, another password: none is shipped or kept.
    with serving(tmp_path / "2.log", "--config", str(config), "--demo-user", "--port", str(free_port())) as (again, _):
        second = PRINTED.match(again)
        assert second is not None and second.group(2) != password
    # The demo login ends with the process anyway: no warning that sessions would not outlive a restart.
    assert "session_secret" not in (tmp_path / "1.log").read_text()


def test_a_port_in_use_is_one_line_before_anything_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = demo_config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--config", str(config), "--demo-user", "--port", str(port)]) == 2
    said = capsys.readouterr()
    assert said.out == ""  # no address that is not this console's
    assert said.err == f"Error: 127.0.0.1:{port} is in use (another maskwatch serve?): use --port or web.port\n"


def test_real_users_still_hear_that_their_logins_end_on_restart(tmp_path: Path) -> None:
    from maskwatch.app.cli_serve import with_demo_user

    settings = parse_settings(yaml.safe_load(demo_config(tmp_path).read_text()))
    demo_only, _ = with_demo_user(settings)
    assert demo_only.web.session_secret is not None  # made for this start, silently
    reviewer = {"name": "rita", "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$x$y", "role": "reviewer"}
    data = {**yaml.safe_load(demo_config(tmp_path).read_text()), "web": {"users": [reviewer]}}
    with_rita, _ = with_demo_user(parse_settings(data))
    assert with_rita.web.session_secret is None  # the console warns: rita's login would end on a restart


def test_serve_without_users_says_how_to_try_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = demo_config(tmp_path)
    assert main(["serve", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "web.users is empty" in err and "--demo-user" in err


def test_serve_without_a_config_file_says_how_to_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./maskwatch.yaml
    monkeypatch.delenv("MASKWATCH_CONFIG", raising=False)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "Error: no config file: pass --config FILE, set $MASKWATCH_CONFIG, or create ./maskwatch.yaml "
        "(web.users is empty in the built-in defaults)"
    )
    assert "--demo-user" in err and len(err.strip().splitlines()) == 1


def test_the_demo_user_is_refused_beyond_this_machine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = demo_config(tmp_path)
    settings = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**settings, "web": {"address": "0.0.0.0"}}))
    assert main(["serve", "--config", str(config), "--demo-user"]) == 2
    assert "--demo-user serves only on this machine" in capsys.readouterr().err
