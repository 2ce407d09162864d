"""Process logging: readable text for a terminal, or one JSON object per line for a log
pipeline. Either way the camera and event a line is about travel as fields (`extra=`)."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from maskwatch.config import LoggingConfig

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(cfg: LoggingConfig | None = None, verbose: bool = False) -> None:
    cfg = cfg or LoggingConfig()
    handler = logging.StreamHandler(sys.stderr)
    if cfg.format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else getattr(logging, cfg.level))
    # Migration chatter is not news to an operator; problems still come through as warnings.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # httpx logs every request with its full URL, credentials and tokens included; deliveries are
    # logged by the alert dispatcher, with the URL redacted.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def camera(camera_id: str, **more: object) -> dict[str, object]:
    """`extra=` fields for a log line about one camera."""
    return {"camera_id": camera_id, **more}
