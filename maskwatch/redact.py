"""Removing credentials from anything that may reach a log, a message or the terminal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# Query parameters that carry a credential: cameras that take `?user=admin&password=...` or
# `?usr=admin&pwd=...`, webhook receivers that take `?token=...`. Matched on the parameter's name,
# whatever its case, alone or after a prefix ending in `_`, `.` or `-` (`api_key`, `X-Amz-Signature`);
# the prefix must end in a separator so `monkey=` or `bypass=` stay readable. The value runs to the
# next `&` or `;` and no further stop: a password may hold a raw `#`, `?` or `/`.
_SECRET_NAMES = (
    "password|passwd|passwort|passcode|passphrase|pass|pwd|psw|pw|token|secret|sig|signature|auth|authorization"
    "|key|apikey|accesskey|credential|credentials|access_token|code|session|sessionid|jwt"
)
_SECRET_PARAM = re.compile(rf"(?i)(^|[?#&;])((?:[\w.-]*[_.-])?(?:{_SECRET_NAMES}))=([^&;]*)")

# A scheme and `://`, wherever it starts: FFmpeg-style prefixes (`concat:`, `subfile,...:`) may
# stand before it, and their URL's password must go too.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")

# What may follow a userinfo's `@`: a host name, an IPv4 or [IPv6] address, with an optional port,
# then the path. Query-like text (`&`, `=`, `;`, `,`) means that `@` was inside a query value.
_HOST = re.compile(r"(?:\[[0-9A-Za-z:.%]*\]|[\w.~%!$'()*+-]*)(?::\d*)?")


@dataclass(frozen=True)
class _Authority:
    prefix: str  # up to and including `://`
    user: str
    password: str | None  # None: no `:` in the userinfo
    rest: str  # the host, then path, query and fragment


def _userinfo_end(rest: str) -> int | None:
    """Where the userinfo in `rest` (what follows `://`) ends: the index of its `@`, or None.

    A password may hold `/`, `?`, `#` or `@` unencoded, so the URL's own delimiters cannot tell
    where it ends: it ends at the last `@` that a host follows. A user name holds none of `/?#`:
    an `@` with no `:` before the first of them belongs to the path or the query."""
    ats = [i for i, c in enumerate(rest) if c == "@"]
    if not ats:
        return None
    first_delim = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    if ":" not in rest[:first_delim]:
        before = [i for i in ats if i < first_delim]
        return before[-1] if before else None
    hosted = [i for i in ats if _HOST.fullmatch(re.split(r"[/?#]", rest[i + 1 :], maxsplit=1)[0])]
    # Without a host after any `@` the URL is malformed: hiding too much beats showing a password.
    return hosted[-1] if hosted else ats[-1]


def _split_authority(url: str) -> _Authority | None:
    scheme = _SCHEME.search(url)
    if scheme is None:
        return None
    rest = url[scheme.end() :]
    end = _userinfo_end(rest)
    if end is None:
        return None
    user, colon, password = rest[:end].partition(":")
    return _Authority(url[: scheme.end()], user, password if colon else None, rest[end + 1 :])


def _redact_params(text: str) -> str:
    return _SECRET_PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}=***" if m.group(3) else m.group(0), text)


def _redact_tail(text: str) -> str:
    """Credential-like parameters in the query and the fragment (`#access_token=...`)."""
    cut = min((i for i in (text.find("?"), text.find("#")) if i >= 0), default=-1)
    if cut < 0:
        return text
    return text[:cut] + _redact_params(text[cut:])


def redact_url(url: str) -> str:
    """`rtsp://user:pw@host/x` -> `rtsp://user:***@host/x`, whatever characters the password holds;
    a userinfo without a password (often a token) -> `***`; the values of query parameters named
    like credentials (`?token=...`, `&password=...`) -> `***`. Other URLs and paths are unchanged."""
    auth = _split_authority(url)
    if auth is None:
        return _redact_tail(url)
    # A user name alone, or one with an empty password, is a token as often as it is a name.
    userinfo = f"{auth.user}:***" if auth.password else "***"
    return f"{auth.prefix}{userinfo}@{_redact_tail(auth.rest)}"


def without_userinfo(url: str) -> str:
    """The URL without its `user:password@`, found as redact_url finds it; urlsplit alone would take
    a password's `/`, `?` or `#` for the end of the host, and part of the password for the host."""
    auth = _split_authority(url)
    return url if auth is None else auth.prefix + auth.rest


def url_origin(url: str) -> str:
    """`https://hooks.example.org/services/T0/B0/secret` -> `https://hooks.example.org/...`: for
    URLs whose path may itself be the credential, as webhook receivers' often is."""
    try:
        parts = urlsplit(without_userinfo(url))
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<unparseable url>"
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    tail = "/..." if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{tail}"
