"""Production mode end to end: one process per stage, Redis Streams, Postgres, real RTSP,
a webhook receiver that checks signatures, and an SMTP server."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from maskwatch.storage.models import Camera, Violation
from tests.support.receivers import smtp_server, webhook_receiver

pytestmark = [pytest.mark.service, pytest.mark.shared, pytest.mark.slow]


def test_production_pipeline(rtsp_server, shared: Path, redis_url: str, postgres_url: str, tmp_path: Path) -> None:
    videos = shared / "videos"
    server = rtsp_server(
        [f"four={videos / 'four-people-putting-on-masks.mp4'}", f"woman={videos / 'woman-with-mask.mp4'}"]
    )
    with webhook_receiver(secret="e2e-secret") as hook, smtp_server() as smtp:
        config = {
            "cameras": [
                {"id": "four", "name": "Four people", "url": server.url("four"), "sample_fps": 3},
                {"id": "woman", "name": "Woman with mask", "url": server.url("woman"), "sample_fps": 3},
            ],
            "queue": {"url": redis_url},
            "database": {"url": postgres_url},
            "snapshots": {"dir": str(tmp_path / "snapshots")},
            "alerts": {
                "webhooks": [{"url": hook.url, "secret": "${E2E_WEBHOOK_SECRET}"}],
                "email": {
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "starttls": False,
                    "sender": "mw@example.org",
                    "recipients": ["ops@example.org"],
                },
            },
        }
        cfg = tmp_path / "prod.yaml"
        cfg.write_text(yaml.safe_dump(config))
        env = {**os.environ, "E2E_WEBHOOK_SECRET": "e2e-secret"}
        subprocess.run([sys.executable, "-m", "maskwatch", "db", "upgrade", "--config", str(cfg)], check=True, env=env)
        procs = {
            stage: subprocess.Popen(
                [sys.executable, "-m", "maskwatch", stage, "--config", str(cfg)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp_path / f"{stage}.log", "w"),  # noqa: SIM115
            )
            for stage in ("record", "alerts", "infer", "ingest")
        }
        started = time.monotonic()
        try:
            # One play of the 16.6 s clip, plus time for the pipeline to catch up.
            while time.monotonic() - started < 60 and not (len(hook.received) >= 4 and len(smtp.messages) >= 4):
                time.sleep(0.5)
            time.sleep(20 - min(20, time.monotonic() - started))  # see the whole clip at least once
        finally:
            for p in procs.values():
                p.send_signal(signal.SIGTERM)
            codes = {stage: p.wait(60) for stage, p in procs.items()}
        logs = {stage: (tmp_path / f"{stage}.log").read_text() for stage in procs}
        assert codes == dict.fromkeys(procs, 0), logs

        engine = create_engine(postgres_url)
        with Session(engine) as s:
            violations = s.scalars(select(Violation)).all()
            cameras = {c.id: c for c in s.scalars(select(Camera))}
        engine.dispose()
        assert {v.camera_id for v in violations} == {"four"}, "the masked woman must produce no violation"
        assert len(violations) == 4, [(v.track_id, v.label, v.box) for v in violations]
        assert all(v.label == "without_mask" for v in violations)
        assert all(Path(v.snapshot_path).is_file() and Path(v.crop_path).is_file() for v in violations)
        assert sorted(r["json"]["event_id"] for r in hook.received) == sorted(v.id for v in violations)
        assert all(r["signature_valid"] for r in hook.received)
        assert len(smtp.messages) == 4
        assert cameras["woman"].frames_sent > 0 and cameras["four"].state in ("online", "stopped")
        first = min(v.started_at.timestamp() for v in violations)
        latency = min(r["at"] for r in hook.received) - first
        dropped = {c.id: c.frames_dropped for c in cameras.values()}
        print(f"e2e: {len(violations)} violations; first violating frame to webhook {latency:.1f} s; dropped {dropped}")
        assert latency < 30
