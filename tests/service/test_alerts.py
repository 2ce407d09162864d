"""Alert delivery to a real HTTP receiver and a real SMTP server, through the durable outbox."""

import datetime as dt
import hashlib
import hmac
import http.server
import importlib.metadata
import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from devtools.demo_media import DEMO_SCENES, render_scene
from maskwatch.alerts.dispatcher import Dispatcher
from maskwatch.config import LoggingConfig, Settings, parse_settings
from maskwatch.logs import setup_logging
from maskwatch.messages import FaceObservation, FrameMessage
from maskwatch.storage.db import create_db_engine
from maskwatch.storage.models import Camera, DeliveryAttempt, OutboxAlert
from maskwatch.storage.record.recorder import Recorder
from maskwatch.storage.record.tracking import BestShot, ViolationConfirmed
from maskwatch.storage.snapshots import SnapshotStore
from tests.support.factories import record_violations
from tests.support.receivers import smtp_server, webhook_receiver

JPEG = cv2.imencode(".jpg", render_scene(DEMO_SCENES["entrance"]))[1].tobytes()
FACE = FaceObservation((175.0, 185.0, 325.0, 335.0), "without_mask", 0.85, 0.95, {"without_mask": 0.9})


def make_settings(
    tmp_path: Path, database_url: str, webhooks: list[dict], email_port: int | None, **alerts: Any
) -> Settings:
    cfg: dict[str, Any] = {"webhooks": webhooks, "backoff_initial_s": 0.01, "backoff_max_s": 0.05, **alerts}
    if email_port is not None:
        cfg["email"] = {
            "host": "127.0.0.1",
            "port": email_port,
            "starttls": False,
            "sender": "mw@example.org",
            "recipients": ["ops@example.org"],
        }
    return parse_settings(
        {
            "cameras": [{"id": "cam-1", "name": "Entrance", "url": "rtsp://127.0.0.1/x"}],
            "database": {"url": database_url},
            "snapshots": {"dir": str(tmp_path / "snaps")},
            "alerts": cfg,
        }
    )


def drain(settings: Settings, rounds: int = 1) -> Dispatcher:
    dispatcher = Dispatcher(settings, create_db_engine(settings.database.url))
    for _ in range(rounds):
        for channel in dispatcher.senders:
            dispatcher.run_channel_once(channel)
    return dispatcher


def outbox(settings: Settings) -> list[OutboxAlert]:
    engine = create_db_engine(settings.database.url)
    with Session(engine) as s:
        rows = list(s.scalars(select(OutboxAlert).order_by(OutboxAlert.id)))
    engine.dispose()
    return rows


def test_webhook_and_email_delivered(database_url: str, tmp_path: Path) -> None:
    with webhook_receiver() as hook, smtp_server() as smtp:  # signatures: test_webhooks_are_signed_against_replay
        settings = make_settings(tmp_path, database_url, [{"url": hook.url, "secret": "s3cret"}], smtp.port)
        record_violations(settings)
        drain(settings)
        (req,) = hook.received
        assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", req["headers"]["X-Maskwatch-Signature"])
        body = req["json"]
        assert {"event_id", "camera_id", "camera_name", "label", "score", "started_at"} <= set(body)
        assert body["camera_name"] == "Entrance" and body["label"] == "without_mask"
        assert dt.datetime.fromisoformat(body["started_at"].replace("Z", "+00:00")).tzinfo is not None
        assert req["headers"]["Idempotency-Key"] == body["event_key"] == "violation:cam-1:" + body["track_id"]
        (mail,) = smtp.messages
        assert "Entrance" in mail["Subject"]
        types = [p.get_content_type() for p in mail.walk()]
        assert "text/plain" in types and "text/html" in types and "image/jpeg" in types
        image = next(p for p in mail.walk() if p.get_content_type() == "image/jpeg")
        assert len(image.get_content()) > 5000
    assert {r.state for r in outbox(settings)} == {"delivered"}


def verify_maskwatch_signature(
    secret: str, header: str, body: bytes, tolerance_s: float = 300, now: float | None = None
) -> bool:
    """What a receiver runs on the raw request body before trusting a delivery: the HMAC must match
    and the signing time be within 5 minutes (a captured delivery replayed later is refused; one
    replayed sooner has an Idempotency-Key already seen)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    t, v1 = fields.get("t", ""), fields.get("v1", "")
    if not t.isdigit() or abs((time.time() if now is None else now) - int(t)) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, v1)


@contextmanager
def raw_receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A receiver that keeps each request's headers and body bytes as they arrived, as verifying needs."""
    got: list[tuple[dict[str, str], bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    finally:
        server.shutdown()
        server.server_close()


def take_camera_offline(settings: Settings, name: str | None = None, detail: str = "connection refused") -> None:
    """Camera cam-1 goes offline (under `name`, if given, as stored in the database) and is alerted at once."""
    from maskwatch.storage.cameras import CameraStatus

    engine = create_db_engine(settings.database.url)
    status = CameraStatus(
        settings.model_copy(update={"alerts": settings.alerts.model_copy(update={"camera_grace_s": 0})})
    )
    with Session(engine) as s, s.begin():
        cam = s.get(Camera, "cam-1")
        assert cam is not None
        if name is not None:
            cam.name = name
        status.transition(s, cam, "offline", detail, dt.datetime.now(dt.timezone.utc))
        status.check(s)
    engine.dispose()


@pytest.mark.attack("replay, alter or re-sign a webhook delivery", expected="the receiver's check rejects it")
def test_webhooks_are_signed_against_replay(tmp_path: Path) -> None:
    with raw_receiver() as (url, got):
        settings = make_settings(
            tmp_path,
            f"sqlite:///{tmp_path / 'a.db'}",
            [{"url": url, "secret": "s3cret"}],
            None,
            snapshot_base_url="https://cdn.example.org/snaps/",
        )
        record_violations(settings)
        drain(settings)
        take_camera_offline(settings)
        drain(settings)
    assert [json.loads(body)["type"] for _, body in got] == ["violation", "camera_offline"]
    for headers, body in got:
        header = headers["X-Maskwatch-Signature"]
        assert verify_maskwatch_signature("s3cret", header, body)
        signed_at = int(header.split(",")[0].removeprefix("t="))
        assert abs(signed_at - time.time()) < 60
        assert not verify_maskwatch_signature("s3cret", header, body, now=signed_at + 301)  # replayed too late
        assert not verify_maskwatch_signature("s3cret", header.replace(f"t={signed_at}", f"t={signed_at + 200}"), body)
        assert not verify_maskwatch_signature("s3cret", header, body.replace(b"cam-1", b"cam-2"))
        assert not verify_maskwatch_signature("other", header, body)
        payload = json.loads(body)
        assert payload["type"] == headers["X-Maskwatch-Event"] and headers["Idempotency-Key"] == payload["event_key"]
        assert str(tmp_path) not in body.decode() and not {"snapshot_path", "crop_path", "snapshot_relpath"} & set(
            payload
        )
    violation = json.loads(got[0][1])
    assert re.fullmatch(r"https://cdn\.example\.org/snaps/cam-1/.+-frame\.jpg", violation["snapshot_url"])


def test_line_breaks_in_a_stored_camera_name_cannot_break_an_email(tmp_path: Path) -> None:
    """Names written before the config refused control characters are still in the database."""
    evil = "Entrance\r\nBcc: evil@example.org\r\n\r\nInjected"
    with smtp_server() as smtp:
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", [], smtp.port)
        record_violations(settings)
        engine = create_db_engine(settings.database.url)
        with Session(engine) as s, s.begin():
            for row in s.scalars(select(OutboxAlert)):
                row.payload = {**row.payload, "camera_name": evil}
        engine.dispose()
        drain(settings)
        take_camera_offline(settings, name=evil)
        drain(settings)
    assert [r.state for r in outbox(settings)] == ["delivered", "delivered"]
    assert [m["Subject"] for m in smtp.messages] == [
        "[maskwatch] Entrance Bcc: evil@example.org Injected: without mask",
        "[maskwatch] Camera Entrance Bcc: evil@example.org Injected is not being watched",
    ]
    assert all(m["Bcc"] is None and m["To"] == "ops@example.org" for m in smtp.messages)


def test_an_alert_that_cannot_become_an_email_is_dead_lettered(tmp_path: Path) -> None:
    with smtp_server() as smtp:
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", [], smtp.port)
        record_violations(settings)
        engine = create_db_engine(settings.database.url)
        with Session(engine) as s, s.begin():
            for row in s.scalars(select(OutboxAlert)):
                row.payload = {"type": "violation", "event_key": row.event_key}  # no camera, no label
        engine.dispose()
        drain(settings)  # returns: the channel's thread would go on with the next alert
    (row,) = outbox(settings)
    assert row.state == "dead" and "cannot build the e-mail" in row.last_error and not smtp.messages


def test_inline_snapshot_option(tmp_path: Path) -> None:
    with webhook_receiver() as hook:
        settings = make_settings(
            tmp_path, f"sqlite:///{tmp_path / 'a.db'}", [{"url": hook.url, "inline_snapshot": True}], None
        )
        record_violations(settings)
        drain(settings)
        body = hook.received[0]["json"]
        assert body["snapshot_content_type"] == "image/jpeg" and len(body["snapshot_base64"]) > 5000


def test_retry_with_backoff_then_delivered(tmp_path: Path) -> None:
    with webhook_receiver(statuses=[503, 503]) as hook:
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", [{"url": hook.url}], None)
        record_violations(settings)
        drain(settings)
        (row,) = outbox(settings)
        assert (row.state, row.attempts) == ("pending", 1) and "503" in row.last_error
        for _ in range(50):
            drain(settings)
            if outbox(settings)[0].state == "delivered":
                break
        (row,) = outbox(settings)
        assert (row.state, row.attempts) == ("delivered", 3)
        assert [r["status"] for r in hook.received] == [503, 503, 200]


def test_dead_webhook_does_not_block_email_and_is_dead_lettered(tmp_path: Path) -> None:
    with smtp_server() as smtp:
        settings = make_settings(
            tmp_path, f"sqlite:///{tmp_path / 'a.db'}", [{"url": "http://127.0.0.1:1/hook"}], smtp.port, max_attempts=3
        )
        record_violations(settings, n=2)
        for _ in range(100):
            drain(settings)
            if all(r.state != "pending" for r in outbox(settings)):
                break
        assert len(smtp.messages) == 2
    states = {(r.channel, r.state) for r in outbox(settings)}
    assert states == {("email", "delivered"), ("webhook:0", "dead")}
    engine = create_db_engine(settings.database.url)
    with Session(engine) as s:
        attempts = s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.ok.is_(False))).all()
        assert len(attempts) == 6 and all("127.0.0.1:1" in a.detail for a in attempts)


def test_webhook_credentials_reach_no_log_and_no_delivery_record(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    setup_logging(LoggingConfig(level="DEBUG"))
    log_text = io.StringIO()
    root.handlers[0].setStream(log_text)  # type: ignore[attr-defined]
    try:
        with webhook_receiver(statuses=[503]) as hook:
            url = hook.url.replace("http://", "http://alice:pw-secret@") + "?team=ops&token=tok-secret"
            assert "/hook" in url
            settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", [{"url": url}], None)
            record_violations(settings)
            for _ in range(50):
                drain(settings)
                if outbox(settings)[0].state == "delivered":
                    break
            assert [r["status"] for r in hook.received] == [503, 200]
    finally:
        root.handlers[:], root.level = saved
    engine = create_db_engine(settings.database.url)
    with Session(engine) as s:
        details = [a.detail for a in s.scalars(select(DeliveryAttempt))]
    engine.dispose()
    written = log_text.getvalue() + "\n".join(details)
    assert "alert delivered" in written and "503" in written  # the log and the records are there...
    assert "pw-secret" not in written and "tok-secret" not in written  # ...without the credentials
    assert "/hook" not in written  # nor the path, which many webhook services make the secret


def test_rejected_alert_is_dead_at_once(tmp_path: Path) -> None:
    with webhook_receiver(statuses=[400]) as hook:
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", [{"url": hook.url}], None)
        record_violations(settings)
        drain(settings)
    (row,) = outbox(settings)
    assert (row.state, row.attempts) == ("dead", 1)


@pytest.mark.parametrize("cooldown", [0, 60])
def test_cooldown_folds_a_burst_into_one_digest(database_url: str, tmp_path: Path, cooldown: int) -> None:
    with webhook_receiver() as hook:
        settings = make_settings(tmp_path, database_url, [{"url": hook.url}], None, cooldown_s=cooldown)
        record_violations(settings, n=1)
        drain(settings)
        engine = create_db_engine(settings.database.url)
        recorder = Recorder(settings, engine, SnapshotStore(settings.snapshots.dir))
        t0 = 1_790_000_100.0
        recorder.write(
            [
                ViolationConfirmed(
                    "cam-1",
                    f"later-{i}",
                    "without_mask",
                    0.8,
                    t0 + i,
                    t0 + i,
                    BestShot(FrameMessage("cam-1", i, t0 + i, 1280, 720, JPEG), FACE),
                )
                for i in (1, 2, 3)
            ],
            [],
        )
        drain(settings)
        if cooldown == 0:
            assert len(hook.received) == 4
            return
        assert len(hook.received) == 1  # the burst waits for the window to end
        with Session(engine) as s, s.begin():  # the window passes
            for row in s.scalars(select(OutboxAlert)):
                row.next_attempt_at -= dt.timedelta(seconds=61)
                if row.delivered_at is not None:
                    row.delivered_at -= dt.timedelta(seconds=61)
        drain(settings)
        engine.dispose()
        assert len(hook.received) == 2
        digest = hook.received[1]["json"]
        assert len(digest["events"]) == 3
        assert not {"snapshot_path", "crop_path"} & {k for e in [digest, *digest["events"]] for k in e}
    assert {r.state for r in outbox(settings)} == {"delivered"}


def test_dead_letters_are_retried_on_request(tmp_path: Path) -> None:
    from maskwatch.app.cli import main

    with webhook_receiver(statuses=[400]) as hook:
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", [{"url": hook.url}], None)
        record_violations(settings)
        drain(settings)
        assert outbox(settings)[0].state == "dead"
        cfg = tmp_path / "c.yaml"
        cfg.write_text(settings.model_dump_json())  # JSON is YAML
        assert main(["alerts", "retry", "--config", str(cfg)]) == 0
        assert (outbox(settings)[0].state, outbox(settings)[0].attempts) == ("pending", 0)
        drain(settings)
    (row,) = outbox(settings)
    assert row.state == "delivered"
    assert [r["status"] for r in hook.received] == [400, 200]
    assert len({r["headers"]["Idempotency-Key"] for r in hook.received}) == 1


def test_camera_alerts_reach_every_channel_without_cooldown(tmp_path: Path) -> None:
    with webhook_receiver() as hook, smtp_server() as smtp:
        settings = make_settings(
            tmp_path, f"sqlite:///{tmp_path / 'a.db'}", [{"url": hook.url}], smtp.port, cooldown_s=600
        )
        record_violations(settings)  # a violation just alerted must not hold back the camera alert
        drain(settings)
        take_camera_offline(settings)
        drain(settings)
    kinds = [r["headers"]["X-Maskwatch-Event"] for r in hook.received]
    assert kinds == ["violation", "camera_offline"]
    offline = hook.received[1]["json"]
    assert offline["camera_name"] == "Entrance" and offline["detail"] == "connection refused"
    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects[1] == "[maskwatch] Camera Entrance is not being watched"
    assert "connection refused" in smtp.messages[1].get_content()


# As the ingest watchdog words an RTSP camera that refuses connections, retry schedule and all.
REFUSED_DETAIL = (
    "camera cam-1 (rtsp://127.0.0.1:1/stream1): connection refused: is the camera on, and the port right?; "
    "retry 6 in 37.2 s"
)
REFUSED = "connection refused: is the camera on, and the port right?"


def test_an_outage_alert_says_why_without_the_retry_schedule_and_when_in_words(tmp_path: Path) -> None:
    with webhook_receiver() as hook, smtp_server() as smtp:
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", [{"url": hook.url}], smtp.port)
        record_violations(settings)
        drain(settings)
        take_camera_offline(settings, detail=REFUSED_DETAIL)
        drain(settings)
    # Receivers of maskwatch's JSON: the state as it was, and the reason a message would give.
    offline = hook.received[1]["json"]
    assert (offline["detail"], offline["reason"]) == (REFUSED_DETAIL, REFUSED)
    since = dt.datetime.fromisoformat(offline["down_since"])
    assert since.tzinfo is not None and since.microsecond > 0  # machine time, to the microsecond
    # People: the reason once, the time to the second, in UTC.
    text = smtp.messages[1].get_content().replace("\r\n", "\n")
    assert f"since {since:%Y-%m-%d %H:%M:%S} UTC.\nReason: {REFUSED}\n" in text
    assert "retry 6" not in text and "rtsp://" not in text and offline["down_since"] not in text


def test_webhooks_name_maskwatch_and_its_version_as_the_sender(tmp_path: Path) -> None:
    with webhook_receiver() as hook:
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", [{"url": hook.url}], None)
        record_violations(settings)
        drain(settings)
    (req,) = hook.received
    assert req["headers"]["User-Agent"] == f"maskwatch/{importlib.metadata.version('maskwatch')}"
