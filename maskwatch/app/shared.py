"""What several commands share: reading a `--since` value, and opening the configured database."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlalchemy import Engine

from maskwatch.config import load_settings
from maskwatch.errors import MaskwatchError

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_since(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """`1h`, `30m`, `2d`, or an ISO-8601 time (UTC when no zone is given)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    m = _RELATIVE.match(text.strip())
    if m:
        return now - dt.timedelta(seconds=int(m.group(1)) * _UNIT_S[m.group(2)])
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise MaskwatchError(f"--since {text!r}: use a duration like 1h, 30m, 2d or an ISO time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def open_configured_database(config: Path | None) -> Engine:
    """The database of the config file (`None`: the defaults) as it is: commands that read or
    review never create or migrate it (the stages and `maskwatch db upgrade` do)."""
    from maskwatch.storage.db import open_existing

    return open_existing(load_settings(config).database.url)


def devtools_missing(command: str, exc: ModuleNotFoundError) -> Exception:
    """The error for a development command run where devtools/ is not importable (an installed wheel)."""
    if not (exc.name or "").startswith("devtools"):
        return exc  # a dependency of devtools is missing: its own message says which
    return MaskwatchError(
        f"maskwatch {command} runs the development tools (devtools/) of a source checkout, which an "
        "installed maskwatch does not include: run it in a clone, after `make setup`"
    )
