"""Credentials never leave in a URL: whatever characters a password holds, and in the query
parameters cameras and webhook receivers take them in."""

from pathlib import Path

import pytest

from maskwatch.app.cli import main
from maskwatch.redact import redact_url, url_origin, without_userinfo

# Each password holds a character that ends the host for urlsplit, or that stands for one.
AWKWARD_PASSWORDS = ["p#ss", "p/ss", "p?ss", "p@ss", "p%40ss", "p%23ss", "p:ss", "#/?@:", "p@ss#x@y", "p ss", "ü€"]


@pytest.mark.attack("leak a camera password with # / ? @ in it", expected="masked in every URL form")
@pytest.mark.parametrize("password", AWKWARD_PASSWORDS)
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("rtsp://admin:{}@10.0.0.2:554/Streaming/Channels/101", "rtsp://admin:***@10.0.0.2:554/Streaming/Channels/101"),
        ("rtsps://admin:{}@cam.example.org/live", "rtsps://admin:***@cam.example.org/live"),
        ("http://admin:{}@[fe80::1]:8080/video?x=1", "http://admin:***@[fe80::1]:8080/video?x=1"),
        ("https://admin:{}@host", "https://admin:***@host"),
        ("redis://:{}@redis:6379/0", "redis://:***@redis:6379/0"),
        ("rtsp://john@example.com:{}@cam/x", "rtsp://john@example.com:***@cam/x"),
    ],
)
def test_password_is_hidden_whatever_it_holds(template: str, expected: str, password: str) -> None:
    url = template.format(password)
    assert redact_url(url) == expected
    assert password not in redact_url(url).replace("***", "")
    assert password not in without_userinfo(url) and password not in url_origin(url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://TOKEN@hooks.example.org/x", "https://***@hooks.example.org/x"),  # a user name alone is often a token
        ("https://TOKEN:@h/x", "https://***@h/x"),
        ("https://user@h/p@x", "https://***@h/p@x"),  # the second `@` is in the path
        ("https://h/x?email=a@b.example&team=ops", "https://h/x?email=a@b.example&team=ops"),
        ("https://h/mail/a@b.example", "https://h/mail/a@b.example"),
        ("/videos/a@b.mp4", "/videos/a@b.mp4"),
        ("0", "0"),
        ("rtsp://10.0.0.2/s", "rtsp://10.0.0.2/s"),
        ("concat:rtsp://a:pw@h/x|b", "concat:rtsp://a:***@h/x|b"),  # whatever stands before the scheme
        ("rtsp://admin:pw@h/x?password=pw2", "rtsp://admin:***@h/x?password=***"),
    ],
)
def test_userinfo_found_only_where_it_is(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.attack("leak a passcode= style URL parameter", expected="the value masked")
@pytest.mark.parametrize(
    "name",
    [
        "password",
        "Password",
        "PASSWD",
        "pwd",
        "psw",
        "pw",
        "passcode",
        "PassPhrase",
        "pass",
        "token",
        "access_token",
        "key",
        "api_key",
        "ApiKey",
        "secret",
        "client_secret",
        "auth",
        "Authorization",
        "sig",
        "X-Amz-Signature",
        "session",
        "credentials",
    ],
)
def test_credential_parameters_are_hidden(name: str) -> None:
    url = f"rtsp://10.0.0.2/cam/realmonitor?channel=1&user=admin&{name}=hunter2&subtype=0"
    assert redact_url(url) == f"rtsp://10.0.0.2/cam/realmonitor?channel=1&user=admin&{name}=***&subtype=0"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # A raw `#` or `?` in a value: the value runs to the next `&`, so none of it shows.
        ("rtsp://cam/x?user=admin&password=p#ss&channel=1", "rtsp://cam/x?user=admin&password=***&channel=1"),
        ("rtsp://cam/x?pwd=p?s/s", "rtsp://cam/x?pwd=***"),
        ("http://cam/cgi?usr=admin;pwd=s3cret", "http://cam/cgi?usr=admin;pwd=***"),
        ("https://h/cb#access_token=abc&state=1", "https://h/cb#access_token=***&state=1"),
        ("https://h/x?keyframe=1&monkey=2&bypass=3&passage=4", "https://h/x?keyframe=1&monkey=2&bypass=3&passage=4"),
        ("https://h/x?token=", "https://h/x?token="),  # nothing to hide
        ("/videos/a.mp4?password=x", "/videos/a.mp4?password=***"),
    ],
)
def test_parameter_values_are_hidden_whole(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.attack("leak a password through a webhook's origin", expected="no part of it shown")
def test_webhook_origin_never_shows_a_password_as_host_or_port() -> None:
    # urlsplit alone reads `admin` as the host and `12` as the port, or `def` (part of the password) as the host.
    assert url_origin("http://admin:12#x@hooks.example.org/T0/secret") == "http://hooks.example.org/..."
    assert url_origin("http://admin:abc@def#x@hooks.example.org:8443/x") == "http://hooks.example.org:8443/..."


@pytest.mark.attack("read passwords from `config check`", expected="masked")
def test_config_check_shows_no_password_whatever_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    urls = {
        "CAM_A": "rtsp://admin:Sec#ret1@cam-a.local/live",
        "CAM_B": "rtsp://admin:Sec/ret2@cam-b.local/live",
        "CAM_C": "rtsp://admin:Sec?ret3@cam-c.local/live",
        "CAM_D": "rtsp://admin:Sec@ret4@cam-d.local/live",
        "CAM_E": "rtsp://admin:Sec%23ret5@cam-e.local/live",
        "CAM_F": "http://cam-f.local/snap.cgi?usr=admin&PWD=Secret6&passcode=Secret7",
    }
    for name, url in urls.items():
        monkeypatch.setenv(name, url)
    cameras = "".join(f"  - {{id: {n.lower()}, name: {n}, url: '${{{n}}}'}}\n" for n in urls)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"cameras:\n{cameras}queue: {{url: 'redis://:Red#is8@redis:6379/0'}}\n")
    assert main(["config", "check", str(cfg)]) == 0
    out = capsys.readouterr()
    shown = out.out + out.err
    for host in ("cam-a.local", "cam-b.local", "cam-c.local", "cam-d.local", "cam-e.local"):
        assert f"admin:***@{host}/live" in shown
    assert "usr=admin&PWD=***&passcode=***" in shown and "redis://:***@redis:6379/0" in shown
    for secret in ("ret1", "ret2", "ret3", "ret4", "ret5", "Secret6", "Secret7", "is8"):
        assert secret not in shown, secret


@pytest.mark.attack("read passwords from FFmpeg's errors", expected="masked")
def test_source_errors_show_no_password() -> None:
    from maskwatch.ingest.reader import describe_error

    url = "rtsp://admin:Sec#ret@cam.local/live"
    message = describe_error(RuntimeError(f"could not open {url}"), "camera c", url, is_file=False)
    assert "admin:***@cam.local/live" in message and "ret" not in message.replace("RuntimeError", "")


@pytest.mark.attack("read a chat webhook's credential from `config check`", expected="only its origin shown")
def test_config_check_shows_webhooks_by_their_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_URL", "https://hooks.slack.com/services/T000/B000/XXXXSECRET1")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "alerts:\n"
        "  webhooks:\n"
        "    - {url: '${SLACK_URL}', format: slack}\n"
        "    - format: teams\n"
        "      url: 'https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers?sig=SECRET2'\n"
        "  snapshot_base_url: 'https://snap:SECRET3@files.example.org/snapshots'\n"
    )
    assert main(["config", "check", str(cfg)]) == 0
    out = capsys.readouterr()
    shown = out.out + out.err
    assert "url: https://hooks.slack.com/..." in shown
    assert "url: https://prod-12.westeurope.logic.azure.com:443/..." in shown
    assert "snapshot_base_url: https://snap:***@files.example.org/snapshots" in shown
    for secret in ("XXXXSECRET1", "T000", "SECRET2", "workflows", "SECRET3"):
        assert secret not in shown, secret
