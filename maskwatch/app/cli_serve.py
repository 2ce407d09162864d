"""`maskwatch serve`: the review console, with the address it listens on and how to log in printed
first; `--demo-user` adds a reviewer with a one-time password, to try the console on the demo."""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path

import click
from pydantic import SecretStr

from maskwatch.app.cli_base import command
from maskwatch.app.shared import config_option, load_config, open_reader
from maskwatch.config import ConfigError, Settings, WebUser

DEMO_USER = "demo"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def with_demo_user(settings: Settings) -> tuple[Settings, str]:
    """The settings with a reviewer `demo` whose password (returned) is made for this start only."""
    from maskwatch.console.auth import hash_password

    if not _is_loopback(settings.web.address):
        raise ConfigError(
            f"--demo-user serves only on this machine (web.address 127.0.0.1), not on {settings.web.address}: "
            "add real users to web.users instead (`maskwatch users hash-password`)"
        )
    if any(u.name == DEMO_USER for u in settings.web.users):
        raise ConfigError(f"web.users already has a user {DEMO_USER!r}: leave out --demo-user, or rename that user")
    password = secrets.token_urlsafe(12)
    user = WebUser(name=DEMO_USER, password_hash=SecretStr(hash_password(password)), role="reviewer")
    web = settings.web.model_copy(update={"users": [*settings.web.users, user]})
    return settings.model_copy(update={"web": web}), password


def console_url(host: str, port: int) -> str:
    """Where to open the console: on every interface (0.0.0.0, ::), this machine's loopback is one."""
    if host in ("0.0.0.0", "::"):
        return f"http://127.0.0.1:{port} (listening on every interface, {host})"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _how_to_log_in(settings: Settings, demo_password: str | None) -> str:
    if demo_password is not None:
        return f"log in as {DEMO_USER} with password {demo_password} (valid until this console stops)"
    if settings.web.users:
        return "log in as " + " or ".join(u.name for u in settings.web.users)
    return "no users: call the API with a token of web.api_tokens"


@command("serve", short_help="The web console and JSON API (described at /api/openapi.json).")
@config_option
@click.option("--port", type=click.IntRange(1, 65535), help="Listen on this port instead of web.port.")
@click.option(
    "--demo-user",
    is_flag=True,
    help=f"Add a reviewer {DEMO_USER!r} with a one-time password printed at start, to try the console "
    "(e.g. on `make demo`'s data); only on a loopback address.",
)
def serve(config: Path | None, port: int | None, demo_user: bool) -> int:
    """The review console and its JSON API. Prints the address it listens on and how to log in.
    After `make demo`: maskwatch serve --config configs/demo.yaml --demo-user"""
    import uvicorn

    from maskwatch.console.app import create_app

    settings = load_config(config, console=True)
    password = None
    if demo_user:
        settings, password = with_demo_user(settings)
    elif not settings.web.users and not settings.web.api_tokens:
        raise ConfigError(
            f"{config or 'the built-in defaults'}: web.users is empty: add a user (`maskwatch users hash-password`), "
            "or try the console with --demo-user"
        )
    engine = open_reader(settings)
    port = port or settings.web.port
    click.echo(f"console on {console_url(settings.web.address, port)}: {_how_to_log_in(settings, password)}")
    uvicorn.run(
        create_app(settings, engine), host=settings.web.address, port=port, log_level="warning", access_log=False
    )
    return 0
