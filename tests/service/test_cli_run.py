"""`maskwatch run` on a config written for a deployment, whose console secrets come from the
environment: the stages run without them (only `maskwatch serve` needs them)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.demo_media import DEMO_SCENES, render_scene, write_clip
from maskwatch.storage.db import create_db_engine
from maskwatch.storage.models import Camera


def test_run_needs_no_console_secret(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "door.mp4", [render_scene(DEMO_SCENES["entrance"])] * 4, fps=4)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        metrics_port = probe.getsockname()[1]
    db_url = f"sqlite:///{tmp_path / 'm.db'}"
    config = {
        "cameras": [{"id": "door", "name": "Door", "url": str(clip), "realtime": False}],
        "queue": {"url": "memory://"},
        "database": {"url": db_url},
        "snapshots": {"dir": str(tmp_path / "snaps")},
        "metrics": {"port": metrics_port},
        "web": {
            "session_secret": "${WEB_SESSION_SECRET}",
            "users": [{"name": "admin", "password_hash": "${WEB_ADMIN_PASSWORD_HASH}", "role": "reviewer"}],
        },
    }
    cfg = tmp_path / "site.yaml"
    cfg.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if k not in ("WEB_SESSION_SECRET", "WEB_ADMIN_PASSWORD_HASH")}
    run = [sys.executable, "-m", "maskwatch", "run", "--config", str(cfg), "--until-done"]
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "web.session_secret left unset: WEB_SESSION_SECRET not set" in done.stderr  # said, not silent
    engine = create_db_engine(db_url)
    with Session(engine) as s:
        assert list(s.scalars(select(Camera.id))) == ["door"]
    engine.dispose()
    serve = subprocess.run(
        [sys.executable, "-m", "maskwatch", "serve", "--config", str(cfg)], env=env, capture_output=True, text=True
    )
    assert serve.returncode == 2
    assert "environment variable(s) not set: WEB_ADMIN_PASSWORD_HASH, WEB_SESSION_SECRET" in serve.stderr
