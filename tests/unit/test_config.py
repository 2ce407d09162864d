"""The service configuration: validation with paths, secrets from the environment, redaction."""

from pathlib import Path

import pytest

from maskwatch.app.cli import main
from maskwatch.config import ConfigError, parse_settings
from maskwatch.redact import redact_url, url_origin

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://admin:pa:ss@10.0.0.2:554/s", "rtsp://admin:***@10.0.0.2:554/s"),
        ("rtsp://10.0.0.2/s", "rtsp://10.0.0.2/s"),
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("/videos/a.mp4", "/videos/a.mp4"),
        (
            "rtsp://10.0.0.2/cam/realmonitor?channel=1&user=admin&password=hunter2",
            "rtsp://10.0.0.2/cam/realmonitor?channel=1&user=admin&password=***",
        ),
        ("https://h/in?token=abc&team=ops", "https://h/in?token=***&team=ops"),
        ("https://h/x?X-Amz-Signature=zz&keyframe=1&monkey=2", "https://h/x?X-Amz-Signature=***&keyframe=1&monkey=2"),
        ("https://u:p@h/x?API_KEY=k#top", "https://u:***@h/x?API_KEY=***#top"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hooks.example.org/services/T0/B0/secret", "https://hooks.example.org/..."),
        ("http://u:p@127.0.0.1:8080/hook?token=t", "http://127.0.0.1:8080/..."),
        ("https://[::1]:9/x", "https://[::1]:9/..."),
        ("https://h.example.org", "https://h.example.org"),
        ("http://h:99999/x", "<unparseable url>"),
    ],
)
def test_url_origin(url: str, expected: str) -> None:
    assert url_origin(url) == expected


def test_every_error_is_reported_with_its_path() -> None:
    bad = {
        "cameras": [{"id": "a b", "name": "x", "url": "rtsp://h/s", "sample_fps": 0}, {"id": "c"}],
        "queue": {"url": "kafka://x"},
        "alerts": {"webhooks": [{"url": "ftp://x"}], "email": {"host": "h", "sender": "nope", "recipients": []}},
        "colour": "red",
    }
    with pytest.raises(ConfigError) as info:
        parse_settings(bad, "bad.yaml")
    text = str(info.value)
    for path in (
        "cameras.0.id",
        "cameras.0.sample_fps",
        "cameras.1.name",
        "cameras.1.url",
        "queue.url",
        "alerts.webhooks.0.url",
        "alerts.email.sender",
        "alerts.email.recipients",
        "colour",
    ):
        assert path in text, path


def test_duplicate_camera_ids() -> None:
    cam = {"id": "a", "name": "A", "url": "rtsp://h/s"}
    with pytest.raises(ConfigError, match="repeated: a"):
        parse_settings({"cameras": [cam, cam]})


def test_config_check_prints_resolved_config_without_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in [
        ("CAM_PASSWORD", "camsecret1"),
        ("PG_PASSWORD", "pgsecret2"),
        ("WEBHOOK_SECRET", "hooksecret3"),
        ("SMTP_PASSWORD", "smtpsecret4"),
    ]:
        monkeypatch.setenv(name, value)
    assert main(["config", "check", str(REPO / "configs" / "production.example.yaml")]) == 0
    out = capsys.readouterr()
    assert "platform-2" in out.out and "redis://redis.internal:6379/0" in out.out
    for secret in ("camsecret1", "pgsecret2", "hooksecret3", "smtpsecret4"):
        assert secret not in out.out + out.err


def test_config_check_missing_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAM_PASSWORD", raising=False)
    assert main(["config", "check", str(REPO / "configs" / "production.example.yaml")]) == 2


@pytest.mark.parametrize("name", ["default.yaml", "demo.yaml"])
def test_shipped_configs_are_valid(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAM_PASSWORD", "x")
    assert main(["config", "check", str(REPO / "configs" / name)]) == 0


def test_default_config_lists_the_defaults() -> None:
    import yaml

    from maskwatch.config import Settings

    listed = yaml.safe_load((REPO / "configs" / "default.yaml").read_text())
    defaults = Settings().model_dump(mode="json")
    for section in ("queue", "database", "snapshots", "alerts", "ingest", "inference", "tracking", "metrics"):
        assert listed[section] == defaults[section], section
