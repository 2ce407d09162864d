"""The receiver's verification snippet in docs/security.md works on what maskwatch sends."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from maskwatch.alerts.channels import signature

SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def documented_verify() -> Callable[..., bool]:
    text = SECURITY_DOC.read_text()
    code = re.search(r"A receiver checks both.*?```python\n(.*?)```", text, re.S)
    assert code is not None, "docs/security.md's webhook verification snippet is missing"
    snippet = "\n".join(line.removeprefix("  ") for line in code.group(1).splitlines())
    found: dict[str, object] = {}
    exec(snippet, found)
    verify = found["verify"]
    assert callable(verify)
    return verify


def test_the_documented_snippet_accepts_a_fresh_signature_and_rejects_tampering_and_replay() -> None:
    verify = documented_verify()
    body = b'{"event_id":1,"type":"violation"}'
    now = int(time.time())
    assert verify(b"s3cret", signature("s3cret", body, now), body)
    assert not verify(b"other", signature("s3cret", body, now), body)  # wrong key
    assert not verify(b"s3cret", signature("s3cret", body, now), body + b" ")  # body changed
    assert not verify(b"s3cret", signature("s3cret", body, now - 3600), body)  # replayed an hour later
    assert not verify(b"s3cret", "v1=00,garbage", body)  # a malformed header is refused, not an error
