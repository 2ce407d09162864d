"""`maskwatch alerts test`: a test alert on every configured channel at once, through the real
senders and formats, to real receivers; a channel that fails is named with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from maskwatch.app.cli import main
from tests.support.receivers import mqtt_broker, mqtt_subscriber, slack_problems, smtp_server, webhook_receiver
from tests.support.services import free_port


def write_config(tmp_path: Path, webhooks: list[dict[str, object]], extra: dict[str, object]) -> Path:
    config = {
        "database": {"url": f"sqlite:///{tmp_path / 'mw.db'}"},
        "snapshots": {"dir": str(tmp_path / "snapshots")},
        "alerts": {"webhooks": webhooks, **extra},
    }
    path = tmp_path / "maskwatch.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_every_channel_gets_a_test_alert_and_a_dead_one_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    secret = "a-test-webhook-secret-of-enough-length"
    with (
        webhook_receiver(secret=secret) as plain,
        webhook_receiver(check=slack_problems) as slack,
        smtp_server() as smtp,
        mqtt_broker(tmp_path / "broker") as broker,
        mqtt_subscriber(broker.port) as subscriber,
    ):
        config = write_config(
            tmp_path,
            [{"url": plain.url, "secret": secret}, {"url": slack.url, "format": "slack"}, {"url": dead}],
            {
                "email": {
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "starttls": False,
                    "sender": "mw@example.org",
                    "recipients": ["ops@example.org"],
                },
                "mqtt": {"host": "127.0.0.1", "port": broker.port},
            },
        )
        code = main(["alerts", "test", "--config", str(config)])
        out, err = capsys.readouterr()
        messages = subscriber.wait_for(1)
    assert code == 1, err  # one channel failed
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert set(lines) == {"webhook:0", "webhook:1", "webhook:2", "email", "mqtt"}
    for ok in ("webhook:0", "webhook:1", "email", "mqtt"):
        assert "delivered" in lines[ok], out
    assert "FAILED" in lines["webhook:2"] and "127.0.0.1" in lines["webhook:2"]
    (body,) = [r for r in plain.received if r["status"] == 200]
    assert body["json"]["type"] == "test" and body["signature_valid"] is True
    (chat,) = slack.received
    assert chat["status"] == 200 and chat["problems"] == [] and "test alert" in chat["json"]["text"]
    (mail,) = smtp.messages
    assert mail["Subject"] == "[maskwatch] test alert"
    assert [topic for topic, _, _ in messages] == ["maskwatch/test"]


def test_one_channel_only_and_an_unknown_one_lists_the_known(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with webhook_receiver() as first, webhook_receiver() as second:
        config = write_config(tmp_path, [{"url": first.url}, {"url": second.url}], {})
        assert main(["alerts", "test", "--config", str(config), "--channel", "webhook:1"]) == 0
        assert len(first.received) == 0 and len(second.received) == 1
        assert main(["alerts", "test", "--config", str(config), "--channel", "webhook:7"]) == 2
    err = capsys.readouterr().err
    assert "no alert channel 'webhook:7' (channels: webhook:0, webhook:1)" in err


def test_no_channels_is_a_plain_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, [], {})
    assert main(["alerts", "test", "--config", str(config)]) == 2
    assert "no alert channels are configured" in capsys.readouterr().err
