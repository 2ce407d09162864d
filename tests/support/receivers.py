"""Real network peers on 127.0.0.1 for the tests: a webhook receiver (checking Slack's and Teams'
message shapes where asked), an SMTP server and an MQTT broker (Mosquitto)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any


@dataclass
class WebhookReceiver:
    url: str
    secret: str | None
    statuses: list[int] = field(default_factory=list)  # responses to give first; then 200
    fail_until: float = 0.0  # time.monotonic() before which every request gets a 500
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Requests answered 200, deduplicated on the Idempotency-Key as a real receiver would."""
        seen: dict[str, dict[str, Any]] = {}
        with self.lock:
            for r in self.received:
                if r["status"] == 200 and (event_type is None or r["json"].get("type") == event_type):
                    seen.setdefault(r["headers"]["Idempotency-Key"], r)
        return list(seen.values())

    def accepted_twice(self) -> list[str]:
        """Idempotency keys answered 200 more than once: a receiver that dedupes would see them once."""
        with self.lock:
            keys = [r["headers"]["Idempotency-Key"] for r in self.received if r["status"] == 200]
        return sorted({k for k in keys if keys.count(k) > 1})


Check = Callable[[dict[str, Any]], list[str]]


@contextmanager
def webhook_receiver(
    secret: str | None = None, statuses: list[int] | None = None, check: Check | None = None
) -> Iterator[WebhookReceiver]:
    """`check`: the problems of a body (slack_problems, teams_problems); a body with any is answered
    400, as Slack answers `invalid_payload`, and its problems are kept with the request."""
    state = WebhookReceiver(url="", secret=secret, statuses=list(statuses or []))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            sig = self.headers.get("X-Maskwatch-Signature")
            valid = None
            if state.secret is not None:  # as a receiver verifies: the signature, and that it is fresh
                fields = dict(p.split("=", 1) for p in (sig or "").split(",") if "=" in p)
                t = fields.get("t", "")
                expected = hmac.new(state.secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
                fresh = t.isdigit() and abs(time.time() - int(t)) <= 300
                valid = fresh and hmac.compare_digest(fields.get("v1", ""), expected)
            parsed = json.loads(body)
            problems = check(parsed) if check is not None else []  # outside the lock: it may fetch images
            with state.lock:
                status = state.statuses.pop(0) if state.statuses else 200
                if time.monotonic() < state.fail_until:
                    status = 500
                if status == 200 and valid is False:
                    status = 401
                if status == 200 and problems:
                    status = 400
                state.received.append(
                    {
                        "json": parsed,
                        "headers": dict(self.headers),
                        "signature_valid": valid,
                        "status": status,
                        "problems": problems,
                        "at": time.time(),
                    }
                )
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"nope")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SmtpSink:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)


@contextmanager
def smtp_server(port: int = 0) -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink(port=0)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            sink.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            return "250 OK"

    # aiosmtpd's readiness check connects to the configured port, so it cannot be 0: pick a free one.
    sink.port = port
    if not port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            sink.port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


# Chat message shapes, as Slack and Teams document them: what a webhook of format slack or teams must
# send. An image or link is followed the way the chat service would: fetched without a login.
SLACK_BLOCKS = {"header", "section", "image", "actions", "context", "divider"}
CARD_ELEMENTS = {"TextBlock", "FactSet", "Image", "Container", "ColumnSet"}
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


def image_problems(url: str) -> list[str]:
    """What is wrong with `url` as a picture a chat service fetches: it must answer a JPEG, unauthenticated."""
    import cv2
    import httpx
    import numpy as np

    try:
        got = httpx.get(url, timeout=10)
    except httpx.HTTPError as exc:
        return [f"image {url}: {type(exc).__name__}: {exc}"]
    if got.status_code != 200 or got.headers.get("content-type") != "image/jpeg":
        return [f"image {url}: HTTP {got.status_code} {got.headers.get('content-type')}"]
    if cv2.imdecode(np.frombuffer(got.content, np.uint8), cv2.IMREAD_COLOR) is None:
        return [f"image {url}: not a decodable JPEG"]
    return []


def _slack_block(i: int, block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    where = f"block {i} ({kind})"
    if kind not in SLACK_BLOCKS:
        return [f"{where}: not a Block Kit block type"]
    if kind == "header":
        text = block.get("text") or {}
        ok = text.get("type") == "plain_text" and 0 < len(text.get("text", "")) <= 150
        return [] if ok else [f"{where}: needs plain_text of 1-150 characters"]
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and not fields:
            return [f"{where}: needs text or fields"]
        texts = ([text] if text else []) + list(fields or [])
        bad = [
            t for t in texts if t.get("type") not in ("mrkdwn", "plain_text") or not 0 < len(t.get("text", "")) <= 3000
        ]
        return [f"{where}: bad text objects {bad}"] if bad or len(fields or []) > 10 else []
    if kind == "image":
        url, alt = block.get("image_url", ""), block.get("alt_text", "")
        if not url.startswith(("http://", "https://")) or not 0 < len(alt) <= 2000:
            return [f"{where}: needs an http(s) image_url and alt_text"]
        return image_problems(url)
    if kind == "actions":
        elements = block.get("elements") or []
        bad = [e for e in elements if e.get("type") != "button" or not str(e.get("url", "")).startswith("http")]
        return [f"{where}: needs buttons with a url, got {elements}"] if bad or not 0 < len(elements) <= 25 else []
    return []


def slack_problems(body: dict[str, Any]) -> list[str]:
    """What keeps `body` from being a Slack incoming-webhook message with Block Kit blocks."""
    problems = [] if isinstance(body.get("text"), str) and body["text"].strip() else ["no fallback text"]
    blocks = body.get("blocks")
    if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
        return [*problems, "blocks: a list of 1 to 50 blocks"]
    for i, block in enumerate(blocks):
        problems += _slack_block(i, block)
    return problems


def _card_element(i: int, element: dict[str, Any]) -> list[str]:
    kind = element.get("type")
    where = f"body[{i}] ({kind})"
    if kind not in CARD_ELEMENTS:
        return [f"{where}: not an Adaptive Card element"]
    if kind == "TextBlock" and not str(element.get("text", "")).strip():
        return [f"{where}: no text"]
    if kind == "FactSet":
        facts = element.get("facts") or []
        bad = [f for f in facts if not (isinstance(f.get("title"), str) and isinstance(f.get("value"), str))]
        return [f"{where}: facts need a title and a value: {bad}"] if bad or not facts else []
    if kind == "Image":
        url = str(element.get("url", ""))
        return image_problems(url) if url.startswith("http") else [f"{where}: no http(s) url"]
    return []


def teams_problems(body: dict[str, Any]) -> list[str]:
    """What keeps `body` from being a Teams webhook message holding an Adaptive Card."""
    attachments = body.get("attachments")
    if body.get("type") != "message" or not isinstance(attachments, list) or len(attachments) != 1:
        return ["needs type message and one attachment"]
    attachment = attachments[0]
    card = attachment.get("content") or {}
    problems = [] if attachment.get("contentType") == ADAPTIVE_CARD else [f"contentType is not {ADAPTIVE_CARD}"]
    if card.get("type") != "AdaptiveCard" or card.get("version") not in ("1.2", "1.3", "1.4", "1.5"):
        problems.append("content: needs type AdaptiveCard and a version Teams renders (1.2 to 1.5)")
    for i, element in enumerate(card.get("body") or []):
        problems += _card_element(i, element)
    for action in card.get("actions") or []:
        if action.get("type") != "Action.OpenUrl" or not str(action.get("url", "")).startswith("http"):
            problems.append(f"action {action}: needs Action.OpenUrl with an http(s) url")
        if not action.get("title"):
            problems.append(f"action {action}: no title")
    return problems


@dataclass
class MqttBroker:
    """Mosquitto on 127.0.0.1, its own process on a port of its own: `stop()` and `start()` make an outage."""

    workdir: Any
    users: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: Any = None
    tls: TlsFiles | None = None  # a TLS listener with this certificate

    def start(self) -> None:
        import os
        import pwd
        import shutil
        import subprocess

        from tests.support.services import wait_port

        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        conf = self.workdir / "mosquitto.conf"
        lines = [
            # As root Mosquitto would switch to its own user, who cannot read the test's folder.
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
            f"listener {self.port} 127.0.0.1",
            "persistence false",
            f"allow_anonymous {'false' if self.users else 'true'}",
        ]
        if self.tls is not None:
            lines += [f"cafile {self.tls.ca}", f"certfile {self.tls.cert}", f"keyfile {self.tls.key}"]
        if self.users:
            passwords = self.workdir / "passwords"
            passwords.write_text("")
            for name, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), name, password], check=True)
            lines.append(f"password_file {passwords}")
        conf.write_text("\n".join(lines) + "\n")
        log = (self.workdir / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen([exe, "-c", str(conf)], stdout=log, stderr=log)
        wait_port(self.port, timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def make_certificate(workdir: Path, host: str = "127.0.0.1") -> TlsFiles:
    """A CA of the test's own and a server certificate it signed for `host` (an IP address), made with openssl."""
    import subprocess

    workdir.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(workdir / "ca.pem", workdir / "server.pem", workdir / "server.key")
    ca_key, csr = workdir / "ca.key", workdir / "server.csr"

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=maskwatch test CA",
            "-keyout", str(ca_key), "-out", str(files.ca))  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={host}", "-keyout", str(files.key), "-out", str(csr))
    ext = workdir / "san.cnf"
    ext.write_text(f"subjectAltName=IP:{host}\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(files.ca), "-CAkey", str(ca_key), "-CAcreateserial",
            "-days", "2", "-extfile", str(ext), "-out", str(files.cert))  # fmt: skip
    return files


@contextmanager
def mqtt_broker(
    workdir: Any, users: dict[str, str] | None = None, started: bool = True, tls: TlsFiles | None = None
) -> Iterator[MqttBroker]:
    """A Mosquitto of the test's own (Debian's `mosquitto` package); `started=False`: the port is
    chosen, but the broker is down until `start()`."""
    import shutil

    import pytest

    from tests.support.services import free_port

    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    workdir.mkdir(parents=True, exist_ok=True)
    broker = MqttBroker(workdir, dict(users or {}), free_port(), tls=tls)
    if started:
        broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@dataclass
class MqttSubscriber:
    messages: list[tuple[str, dict[str, Any], bool]] = field(default_factory=list)  # topic, JSON, retained
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, dict[str, Any], bool]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        with self.lock:
            return list(self.messages)


@contextmanager
def mqtt_subscriber(
    port: int, topic: str = "maskwatch/#", auth: tuple[str, str] | None = None
) -> Iterator[MqttSubscriber]:
    """A real client subscribed to `topic` (QoS 1) before the block runs."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    sub = MqttSubscriber()
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    if auth:
        client.username_pw_set(*auth)

    def on_connect(c: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        c.subscribe(topic, qos=1)

    def on_message(c: Any, userdata: Any, msg: Any) -> None:
        with sub.lock:
            sub.messages.append((msg.topic, json.loads(msg.payload), bool(msg.retain)))

    client.on_connect = on_connect
    client.on_subscribe = lambda *args: subscribed.set()
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert subscribed.wait(10), "the test subscriber could not subscribe"
        yield sub
    finally:
        client.disconnect()
        client.loop_stop()
