"""Removing credentials from anything that may reach a log, a message or the terminal."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# Query parameters that carry a credential: cameras that take `?user=admin&password=...`, webhook
# receivers that take `?token=...`. Matched on the parameter's name, whatever its case.
_SECRET_PARAM = re.compile(
    r"(?i)(^|[&;])((?:[\w.-]*[_.-])?(?:password|passwd|pwd|pass|token|secret|sig|signature|auth|key|apikey|api_key"
    r"|access_token|code))=([^&;#]*)"
)


def redact_url(url: str) -> str:
    """`rtsp://user:pw@host/x` -> `rtsp://user:***@host/x`, and the values of query parameters
    named like credentials (`?token=...`, `&password=...`) -> `***`; other URLs are unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc, query = parts.netloc, parts.query
    if parts.password is not None or "@" in parts.netloc:
        user = parts.username or ""
        host = parts.netloc.rsplit("@", 1)[1]
        netloc = f"{user}:***@{host}" if parts.password is not None else f"***@{host}"
    query = _SECRET_PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}=***" if m.group(3) else m.group(0), query)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_origin(url: str) -> str:
    """`https://hooks.example.org/services/T0/B0/secret` -> `https://hooks.example.org/...`: for
    URLs whose path may itself be the credential, as webhook receivers' often is."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<unparseable url>"
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    tail = "/..." if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{tail}"
