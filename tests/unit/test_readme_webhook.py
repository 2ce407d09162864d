"""The receiver's verification snippet in the README works on what maskwatch sends."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from maskwatch.alerts.channels import signature

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verify() -> Callable[..., bool]:
    text = README.read_text()
    code = re.search(r"A receiver checks both.*?```python\n(.*?)```", text, re.S)
    assert code is not None, "the README's webhook verification snippet is missing"
    snippet = "\n".join(line.removeprefix("  ") for line in code.group(1).splitlines())
    found: dict[str, object] = {}
    exec(snippet, found)
    verify = found["verify"]
    assert callable(verify)
    return verify


def test_the_readme_snippet_accepts_a_fresh_signature_and_rejects_tampering_and_replay() -> None:
    verify = readme_verify()
    body = b'{"event_id":1,"type":"violation"}'
    now = int(time.time())
    assert verify(b"s3cret", signature("s3cret", body, now), body)
    assert not verify(b"other", signature("s3cret", body, now), body)  # wrong key
    assert not verify(b"s3cret", signature("s3cret", body, now), body + b" ")  # body changed
    assert not verify(b"s3cret", signature("s3cret", body, now - 3600), body)  # replayed an hour later
    assert not verify(b"s3cret", "v1=00,garbage", body)  # a malformed header is refused, not an error
