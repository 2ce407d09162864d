"""The MQTT channel against a real Mosquitto of the test's own on 127.0.0.1: what is published, and
that a broker outage loses nothing (the outbox retries until the broker acknowledges)."""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from maskwatch.alerts.dispatcher import Dispatcher
from maskwatch.config import ConfigError, LoggingConfig, Settings, parse_settings
from maskwatch.logs import setup_logging
from maskwatch.storage.cameras import CameraStatus
from maskwatch.storage.db import create_db_engine
from maskwatch.storage.models import Camera, DeliveryAttempt, OutboxAlert
from tests.support.factories import record_violations
from tests.support.receivers import make_certificate, mqtt_broker, mqtt_subscriber

SECRET = "image-link-secret-0123456789-abcdefghijklmnop"


def make_settings(tmp_path: Path, port: int, **mqtt: Any) -> Settings:
    return parse_settings(
        {
            "cameras": [
                {"id": "cam-1", "name": "Entrance", "url": "rtsp://127.0.0.1/x"},
                {"id": "cam-2", "name": "Platform 2", "url": "rtsp://127.0.0.1/y"},
            ],
            "database": {"url": f"sqlite:///{tmp_path / 'a.db'}"},
            "snapshots": {"dir": str(tmp_path / "snaps")},
            "web": {"public_url": "https://mw.example.org", "image_link_secret": SECRET},
            "alerts": {
                "backoff_initial_s": 0.01,
                "backoff_max_s": 0.05,
                "camera_grace_s": 0,
                "mqtt": {"host": "127.0.0.1", "port": port, "timeout_s": 3, **mqtt},
            },
        }
    )


def camera_goes(settings: Settings, state: str) -> None:
    engine = create_db_engine(settings.database.url)
    with Session(engine) as s, s.begin():
        cam = s.get(Camera, "cam-1")
        assert cam is not None
        status = CameraStatus(settings)
        status.transition(
            s, cam, state, "connection refused" if state == "offline" else "", dt.datetime.now(dt.timezone.utc)
        )
        status.check(s)
    engine.dispose()


def outbox(settings: Settings) -> list[OutboxAlert]:
    engine = create_db_engine(settings.database.url)
    with Session(engine) as s:
        rows = list(s.scalars(select(OutboxAlert).order_by(OutboxAlert.id)))
    engine.dispose()
    return rows


def drain_until_done(dispatcher: Dispatcher, timeout: float = 20.0) -> None:
    """Run the channel as its thread would, until nothing is pending (retries wait their back-off)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dispatcher.run_channel_once("mqtt")
        if all(r.state != "pending" for r in outbox(dispatcher.settings)):
            return
        time.sleep(0.05)


def test_violations_and_retained_camera_states_are_published(tmp_path: Path) -> None:
    with mqtt_broker(tmp_path / "broker") as broker:
        settings = make_settings(tmp_path, broker.port)
        record_violations(settings, n=2)
        dispatcher = Dispatcher(settings, create_db_engine(settings.database.url))
        with mqtt_subscriber(broker.port) as live:
            drain_until_done(dispatcher)
            camera_goes(settings, "offline")
            drain_until_done(dispatcher)
            got = live.wait_for(3)
        dispatcher.close()
        with mqtt_subscriber(broker.port) as later:  # a subscriber that connects now learns the state
            (retained,) = later.wait_for(1)
    assert [t for t, _, _ in got] == ["maskwatch/cam-1/violation"] * 2 + ["maskwatch/cam-1/state"]
    first = got[0][1]
    assert first["event_key"] == "violation:cam-1:cam-1-0" and first["camera_name"] == "Entrance"
    assert first["console_url"] == "https://mw.example.org/violations/1"
    assert first["image_url"].startswith("https://mw.example.org/shared/violations/1/snapshot.jpg?")
    assert "via=mqtt" in first["image_url"] and "faces=0" in first["image_url"]
    assert not {"snapshot_path", "crop_path", "snapshot_relpath"} & set(first)
    topic, state, flag = retained
    assert (topic, state["state"], state["detail"], flag) == (
        "maskwatch/cam-1/state",
        "offline",
        "connection refused",
        True,
    )
    assert state["console_url"] == "https://mw.example.org/cameras/cam-1"
    assert {r.state for r in outbox(settings)} == {"delivered"}


def test_a_broker_outage_loses_nothing(tmp_path: Path) -> None:
    with mqtt_broker(tmp_path / "broker", started=False) as broker:
        settings = make_settings(tmp_path, broker.port, topic_prefix="site/maskwatch")
        record_violations(settings, n=3)
        camera_goes(settings, "offline")
        camera_goes(settings, "online")
        dispatcher = Dispatcher(settings, create_db_engine(settings.database.url))
        dispatcher.run_channel_once("mqtt")  # the broker is down
        rows = outbox(settings)
        assert {(r.state, r.attempts) for r in rows} == {("pending", 1)}
        assert all(
            f"MQTT 127.0.0.1:{broker.port}: cannot connect: ConnectionRefusedError" in r.last_error for r in rows
        )
        # Retries come in any order: here the camera's offline alert is retried after its online one.
        engine = create_db_engine(settings.database.url)
        with Session(engine) as s, s.begin():
            (offline,) = s.scalars(select(OutboxAlert).where(OutboxAlert.kind == "camera_offline"))
            offline.next_attempt_at += dt.timedelta(seconds=0.5)
            offline_id = offline.id
        broker.start()
        with mqtt_subscriber(broker.port, "site/maskwatch/#") as live:
            drain_until_done(dispatcher)
            assert {r.state for r in outbox(settings)} == {"delivered"}
            assert len(live.wait_for(4)) == 4
            with mqtt_subscriber(broker.port, "site/maskwatch/+/state") as later:
                retained = later.wait_for(1)
            # Down again while the channel holds its connection: the next alert waits, then goes.
            broker.stop()
            record_violations(settings, n=1, camera_id="cam-2")
            dispatcher.run_channel_once("mqtt")
            (late,) = [r for r in outbox(settings) if r.state == "pending"]
            assert late.attempts == 1 and f"MQTT 127.0.0.1:{broker.port}" in late.last_error
        broker.start()
        with mqtt_subscriber(broker.port, "site/maskwatch/#") as again:
            drain_until_done(dispatcher)
            got = again.wait_for(1)
        dispatcher.close()
    keys = sorted(m["event_key"] for t, m, _ in live.messages + got if t.endswith("/violation"))
    assert keys == [*(f"violation:cam-1:cam-1-{i}" for i in range(3)), "violation:cam-2:cam-2-0"]  # each once
    assert [t for t, _, _ in got] == ["site/maskwatch/cam-2/violation"]
    assert {r.state for r in outbox(settings)} == {"delivered"}
    # The older state was not published over the newer one: the broker keeps the camera online.
    assert [m["state"] for t, m, _ in live.messages if t.endswith("/state")] == ["online"]
    assert [(t, m["state"], flag) for t, m, flag in retained] == [("site/maskwatch/cam-1/state", "online", True)]
    with Session(engine) as s:
        skipped = s.scalars(select(DeliveryAttempt.detail).where(DeliveryAttempt.outbox_id == offline_id)).all()
    engine.dispose()
    assert skipped[-1].startswith("not published: the broker already has the camera's newer state of ")


def test_credentials_are_checked_and_never_logged(tmp_path: Path) -> None:
    root = logging.getLogger()
    setup_logging(LoggingConfig(level="DEBUG"))
    log_text = io.StringIO()
    root.handlers[0].setStream(log_text)  # type: ignore[attr-defined]
    password = "broker-pw-do-not-leak"
    with mqtt_broker(tmp_path / "broker", users={"maskwatch": password}) as broker:
        login = {"username": "maskwatch", "allow_plaintext_password": True}
        wrong = make_settings(tmp_path, broker.port, password="not-the-password", **login)
        record_violations(wrong)
        Dispatcher(wrong, create_db_engine(wrong.database.url)).run_channel_once("mqtt")
        (row,) = outbox(wrong)
        assert row.state == "pending" and "refused the connection as maskwatch: Not authorized" in row.last_error
        right = make_settings(tmp_path, broker.port, password=password, **login)
        with mqtt_subscriber(broker.port, auth=("maskwatch", password)) as live:
            dispatcher = Dispatcher(right, create_db_engine(right.database.url))
            drain_until_done(dispatcher)
            dispatcher.close()
            assert len(live.wait_for(1)) == 1
    engine = create_db_engine(right.database.url)
    with Session(engine) as s:
        details = [a.detail for a in s.scalars(select(DeliveryAttempt))]
    engine.dispose()
    written = log_text.getvalue() + "\n".join(details) + str(right.redacted())
    assert "Not authorized" in written and "published 1 message(s)" in written
    assert password not in written and "not-the-password" not in written


@pytest.mark.parametrize(
    ("mqtt", "error"),
    [
        ({"password": "pw", "username": "u"}, "password would cross the network unencrypted"),
        ({"topic_prefix": "maskwatch/#"}, "topic_prefix"),
        ({"topic_prefix": "/maskwatch"}, "topic_prefix"),
        ({"qos": 0}, "qos"),
        ({"ca_file": "/etc/ssl/certs/ca.pem"}, "ca_file is set but tls is false"),
    ],
)
def test_unsafe_mqtt_settings_are_refused(mqtt: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_settings({"alerts": {"mqtt": {"host": "broker.example.org", **mqtt}}})
    assert parse_settings({"alerts": {"mqtt": {"host": "b", "tls": True, "port": 8883, "password": "pw"}}})


def test_tls_checks_the_brokers_certificate(tmp_path: Path) -> None:
    good = make_certificate(tmp_path / "tls")
    stranger = make_certificate(tmp_path / "other-ca")  # a valid certificate, but from another CA
    with mqtt_broker(tmp_path / "broker", tls=good) as broker:
        untrusted = make_settings(tmp_path, broker.port, tls=True, ca_file=str(stranger.ca))
        record_violations(untrusted)
        Dispatcher(untrusted, create_db_engine(untrusted.database.url)).run_channel_once("mqtt")
        (row,) = outbox(untrusted)
        assert row.state == "pending" and f"MQTT 127.0.0.1:{broker.port}: TLS handshake failed:" in row.last_error
        assert "CERTIFICATE_VERIFY_FAILED" in row.last_error
        trusted = make_settings(tmp_path, broker.port, tls=True, ca_file=str(good.ca))
        dispatcher = Dispatcher(trusted, create_db_engine(trusted.database.url))
        drain_until_done(dispatcher)
        dispatcher.close()
    (row,) = outbox(trusted)
    assert row.state == "delivered"
