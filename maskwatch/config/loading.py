"""Reading a config file: YAML, `${NAME}` placeholders filled from the environment, then validation
with every problem listed."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from maskwatch.config.settings import Settings
from maskwatch.errors import MaskwatchError


class ConfigError(MaskwatchError, ValueError):
    """The configuration file is missing, not YAML, or invalid; the message lists every problem."""


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _substitute_env(node: Any, missing: list[str]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute_env(v, missing) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute_env(v, missing) for v in node]
    if isinstance(node, str):

        def repl(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                missing.append(name)
                return ""
            return os.environ[name]

        return _PLACEHOLDER.sub(repl, node)
    return node


def format_validation_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "<root>"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


def parse_settings(data: Any, source: str = "<config>") -> Settings:
    missing: list[str] = []
    resolved = _substitute_env(data or {}, missing)
    if missing:
        raise ConfigError(f"{source}: environment variable(s) not set: {', '.join(sorted(set(missing)))}")
    try:
        return Settings.model_validate(resolved)
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid configuration\n{format_validation_error(exc)}") from None


def load_settings(path: Path | None) -> Settings:
    """Load and validate a YAML config file; `None` gives the defaults."""
    if path is None:
        return Settings()
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    return parse_settings(data, str(path))
