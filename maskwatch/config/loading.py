"""Reading a config file: YAML, `${NAME}` (or `${NAME:-default}`) placeholders filled from the
environment, then validation with every problem listed."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from maskwatch.config.hints import error_message, yaml_problem
from maskwatch.config.settings import Settings
from maskwatch.errors import MaskwatchError


class ConfigError(MaskwatchError, ValueError):
    """The configuration file is missing, not YAML, or invalid; the message lists every problem."""


log = logging.getLogger(__name__)

# `${NAME}`, or `${NAME:-default}` as in a shell or Compose: the default when NAME is unset or empty.
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


# Aliases share nodes, so a small file can describe a huge tree ("billion laughs"): no config comes
# near this many values, or this depth.
MAX_NODES = 100_000
MAX_DEPTH = 64


class _Resolver:
    """Fills `${NAME}` placeholders in a YAML tree, refusing trees that YAML aliases make
    endless (an anchor used inside itself) or huge (aliases of aliases)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.missing: list[str] = []
        self.nodes = 0
        self._open: set[int] = set()  # the containers between the root and the current node

    def resolve(self, node: Any) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ConfigError(f"{self.source}: more than {MAX_NODES} values (YAML aliases expanding?)")
        if isinstance(node, str):
            return _PLACEHOLDER.sub(self._variable, node)
        if not isinstance(node, dict | list):
            return node
        if id(node) in self._open:
            raise ConfigError(f"{self.source}: a YAML alias refers to a node that contains it (endless structure)")
        if len(self._open) >= MAX_DEPTH:
            raise ConfigError(f"{self.source}: nested more than {MAX_DEPTH} levels deep")
        self._open.add(id(node))
        try:
            if isinstance(node, dict):
                return {k: self.resolve(v) for k, v in node.items()}
            return [self.resolve(v) for v in node]
        finally:
            self._open.discard(id(node))

    def _variable(self, match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if default is not None and not os.environ.get(name):
            return default
        if name not in os.environ:
            self.missing.append(name)
            return ""
        return os.environ[name]


def format_validation_error(exc: ValidationError, model: type[BaseModel] | None = None) -> str:
    """Every problem, a line each, under its path; `model` (the one validated) lets a misspelled
    key be answered with the key it was probably meant to be."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "<root>"
        lines.append(f"  {where}: {error_message(err, model)}")
    return "\n".join(lines)


# Settings of `web` that only the console reads: a process that does not serve it runs without
# their environment variables, so a stage's host needs no console secrets.
CONSOLE_ONLY = ("session_secret", "users", "api_tokens")


def _without_unset_console_settings(data: Any, source: str) -> Any:
    """`data` less the console-only `web` settings whose `${NAME}` variables are not set."""
    web = data.get("web") if isinstance(data, dict) else None
    if not isinstance(web, dict):
        return data
    kept = dict(web)
    for key in CONSOLE_ONLY:
        probe = _Resolver(source)
        probe.resolve(web.get(key))
        if probe.missing:
            del kept[key]
            missing = ", ".join(sorted(set(probe.missing)))
            log.info("%s: web.%s left unset: %s not set (only the console needs it)", source, key, missing)
    return {**data, "web": kept}


def parse_settings(data: Any, source: str = "<config>", *, console: bool = True) -> Settings:
    """`console=False`: for a process that does not serve the console (see CONSOLE_ONLY)."""
    resolver = _Resolver(source)
    resolved = resolver.resolve((data if console else _without_unset_console_settings(data, source)) or {})
    if resolver.missing:
        missing = ", ".join(sorted(set(resolver.missing)))
        raise ConfigError(f"{source}: environment variable(s) not set: {missing}")
    try:
        return Settings.model_validate(resolved)
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid configuration\n{format_validation_error(exc, Settings)}") from None


def load_settings(path: Path | None, *, console: bool = True) -> Settings:
    """Load and validate a YAML config file; `None` gives the defaults. `console=False`: for a
    process that does not serve the console, which may lack the console's secrets."""
    if path is None:
        return Settings()
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {yaml_problem(exc)}") from None
    except RecursionError:  # PyYAML parses nested collections recursively
        raise ConfigError(f"{path}: nested too deeply") from None
    return parse_settings(data, str(path), console=console)
