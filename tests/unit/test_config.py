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
        # A credential's value runs to the next `&`: a raw `#` may be part of it (more in test_redaction).
        ("https://u:p@h/x?API_KEY=k#top", "https://u:***@h/x?API_KEY=***"),
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


@pytest.mark.attack("inject e-mail headers through a camera name", expected="the config refuses it")
@pytest.mark.parametrize(
    "name", ["Entrance\r\nBcc: evil@example.org", "Entrance\n", "Door\t2", "Door\x1b[31m", "A\u2028B"]
)
def test_camera_names_hold_no_control_characters(name: str) -> None:
    with pytest.raises(ConfigError, match=r"cameras\.0\.name: .*control characters"):
        parse_settings({"cameras": [{"id": "a", "name": name, "url": "rtsp://h/s"}]})


@pytest.mark.parametrize("camera_id", ["a\n", "a\r\nb", "a b", "a\x00"])
def test_camera_ids_hold_only_plain_characters(camera_id: str) -> None:
    with pytest.raises(ConfigError, match=r"cameras\.0\.id"):
        parse_settings({"cameras": [{"id": camera_id, "name": "A", "url": "rtsp://h/s"}]})


def email(**fields: object) -> dict[str, object]:
    return {
        "alerts": {"email": {"host": "smtp.example.org", "sender": "mw@example.org", "recipients": ["a@b.c"], **fields}}
    }


def test_recipients_are_addresses_without_line_breaks() -> None:
    with pytest.raises(ConfigError, match=r"alerts\.email\.recipients"):
        parse_settings(email(recipients=["ops@example.org\r\nBcc: evil@example.org"]))


@pytest.mark.attack("sign webhooks with an empty key", expected="the config refuses it")
@pytest.mark.parametrize("secret", ["", "   ", "${EMPTY_SECRET}"])
def test_empty_webhook_secret_is_refused(secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPTY_SECRET", "")
    with pytest.raises(ConfigError, match=r"alerts\.webhooks\.0\.secret: .*empty webhook secret"):
        parse_settings({"alerts": {"webhooks": [{"url": "https://h/x", "secret": secret}]}})
    assert parse_settings({"alerts": {"webhooks": [{"url": "https://h/x"}]}}).alerts.webhooks[0].secret is None


@pytest.mark.attack("send the SMTP password in plain text", expected="refused unless explicitly allowed")
@pytest.mark.parametrize("port", [25, 587, 2525])
def test_smtp_password_in_plain_text_is_refused(port: int) -> None:
    with pytest.raises(ConfigError, match="unencrypted") as info:
        parse_settings(email(port=port, starttls=False, username="u", password="smtp-pw-1"))
    assert "smtp-pw-1" not in str(info.value)


@pytest.mark.parametrize(
    "fields",
    [
        {"port": 587, "starttls": True, "username": "u", "password": "pw"},
        {"port": 465, "starttls": False, "username": "u", "password": "pw"},  # TLS from the first byte
        {"port": 25, "starttls": False, "username": "u", "password": "pw", "allow_plaintext_password": True},
        {"port": 25, "starttls": False},  # no password to expose
    ],
)
def test_smtp_password_over_tls_or_explicitly_allowed(fields: dict[str, object]) -> None:
    cfg = parse_settings(email(**fields)).alerts.email
    assert cfg is not None and cfg.implicit_tls == (fields["port"] == 465)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize(
    "where",
    [("cameras", 0, "sample_fps"), ("alerts", "cooldown_s"), ("cameras", 0, "watch_areas", 0, "x1")],
)
def test_nan_and_infinity_are_refused_with_a_plain_message(value: float, where: tuple[object, ...]) -> None:
    data: dict[str, object] = {
        "cameras": [
            {"id": "a", "name": "A", "url": "rtsp://h/s", "watch_areas": [{"x1": 0, "y1": 0, "x2": 1, "y2": 1}]}
        ]
    }
    node: object = data
    for key in where[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]  # type: ignore[index]
    node[where[-1]] = value  # type: ignore[index]
    with pytest.raises(ConfigError) as info:
        parse_settings(data)
    assert f"{'.'.join(map(str, where))}: NaN and infinity are not allowed" in str(info.value)


def test_config_check_explains_nan_in_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "cameras:\n  - {id: a, name: A, url: 'rtsp://h/s', sample_fps: .nan}\nalerts: {backoff_max_s: .inf}\n"
    )
    assert main(["config", "check", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "cameras.0.sample_fps: NaN and infinity are not allowed" in err
    assert "alerts.backoff_max_s: NaN and infinity are not allowed" in err


@pytest.mark.attack("crash `config check` with a YAML alias loop", expected="one-line error, exit 2")
@pytest.mark.parametrize(
    "text",
    [
        "cameras: &c\n  - id: a\n    name: A\n    url: rtsp://h/s\n    watch_areas: *c\n",
        "alerts: &a\n  webhooks: [*a]\n",
    ],
)
def test_config_check_refuses_a_self_referencing_alias_in_one_line(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    assert main(["config", "check", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "YAML alias refers to a node that contains it" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_misspelled_key_gets_the_key_it_was_meant_to_be() -> None:
    data = {
        "cameras": [{"id": "a", "name": "A", "url": "rtsp://h/s", "sample_fsp": 2}],
        "queue": {"zzz": 1},
        "web": {"sesion_secret": "x"},
    }
    with pytest.raises(ConfigError) as info:
        parse_settings(data)
    text = str(info.value)
    assert "cameras.0.sample_fsp: unknown key: did you mean `sample_fps`?" in text
    assert "web.sesion_secret: unknown key: did you mean `session_secret`?" in text
    assert "queue.zzz: unknown key (keys here: url, frames_maxlen, results_maxlen)" in text  # nothing close


@pytest.mark.parametrize(
    ("url", "meant"),
    [
        ("127.0.0.1:554/stream", "rtsp://127.0.0.1:554/stream"),
        ("cam-3.local:8554/live?channel=1", "rtsp://cam-3.local:8554/live?channel=1"),
        ("admin:Sec9ret@10.0.0.2:554/s", "rtsp://admin:***@10.0.0.2:554/s"),
    ],
)
def test_a_camera_address_without_its_scheme_is_answered_with_the_one_meant(url: str, meant: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"cameras": [{"id": "a", "name": "A", "url": url}]})
    assert f"cameras.0.url: Value error, no scheme: did you mean {meant}?" in str(info.value)
    assert "Sec9ret" not in str(info.value)


def test_ffmpeg_protocols_are_not_taken_for_a_host() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"cameras": [{"id": "a", "name": "A", "url": "pipe:0"}]})
    assert "unsupported protocol 'pipe'" in str(info.value) and "did you mean" not in str(info.value)


def test_a_password_in_web_users_points_to_its_hash() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({"web": {"users": [{"name": "rita", "password": "hunter2hunter2"}]}})
    text = str(info.value)
    assert "web.users.0.password: unknown key: a web user holds password_hash, never the password" in text
    assert "`maskwatch users hash-password`" in text
    assert "web.users.0.password_hash: Field required" in text  # every problem at once
    assert "hunter2hunter2" not in text


def test_a_yaml_syntax_error_names_the_file_and_the_place_not_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "site.yaml"
    cfg.write_text("cameras:\n  - id: a\n    url: rtsp://admin:Sec9ret@h/s: x\n")
    assert main(["config", "check", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {cfg}: not valid YAML: line 3, column ")
    assert "<unicode string>" not in err and "Sec9ret" not in err  # the line itself may hold a secret
    assert len(err.strip().splitlines()) == 1


def test_secret_advice_names_python3() -> None:
    from maskwatch.config.web import GENERATE_SECRET

    assert GENERATE_SECRET.startswith("python3 -c ")  # Debian and Ubuntu have no `python`
    with pytest.raises(ConfigError, match=r'generate one with python3 -c "import secrets'):
        parse_settings({"web": {"session_secret": "too-short"}})


def test_a_placeholder_default_fills_in_for_an_unset_or_empty_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    data = {"metrics": {"port": "${MW_TEST_METRICS_PORT:-9105}"}}
    monkeypatch.delenv("MW_TEST_METRICS_PORT", raising=False)
    assert parse_settings(data).metrics.port == 9105
    monkeypatch.setenv("MW_TEST_METRICS_PORT", "")
    assert parse_settings(data).metrics.port == 9105
    monkeypatch.setenv("MW_TEST_METRICS_PORT", "9107")
    assert parse_settings(data).metrics.port == 9107
    with pytest.raises(ConfigError, match="MW_TEST_UNSET"):  # without a default, unset is an error
        parse_settings({"metrics": {"port": "${MW_TEST_UNSET}"}})
