"""Real network peers on 127.0.0.1 for the tests: a webhook receiver and an SMTP server."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
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


@contextmanager
def webhook_receiver(secret: str | None = None, statuses: list[int] | None = None) -> Iterator[WebhookReceiver]:
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
            with state.lock:
                status = state.statuses.pop(0) if state.statuses else 200
                if time.monotonic() < state.fail_until:
                    status = 500
                if status == 200 and valid is False:
                    status = 401
                state.received.append(
                    {
                        "json": json.loads(body),
                        "headers": dict(self.headers),
                        "signature_valid": valid,
                        "status": status,
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
