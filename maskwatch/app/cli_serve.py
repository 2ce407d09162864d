"""`maskwatch serve`: the review console, with the address it listens on and how to log in printed
once it serves; `--demo-user` adds a reviewer with a one-time password, to try the console on the demo."""

from __future__ import annotations

import errno
import ipaddress
import secrets
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import SecretStr

from maskwatch.app.cli_base import command
from maskwatch.app.shared import config_option, load_config, no_config_error, open_reader
from maskwatch.config import ConfigError, Settings, WebUser
from maskwatch.errors import MaskwatchError

if TYPE_CHECKING:
    from starlette.types import ASGIApp

DEMO_USER = "demo"
LISTEN_BACKLOG = 2048  # uvicorn's own


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def with_demo_user(settings: Settings) -> tuple[Settings, str]:
    """The settings with a reviewer `demo` whose password (returned) is made for this start only.
    With no other user and no web.session_secret, sessions get a key of this start too, without the
    warning meant for real users: the demo login ends with the process anyway."""
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
    update: dict[str, object] = {"users": [*settings.web.users, user]}
    if settings.web.session_secret is None and not settings.web.users:
        update["session_secret"] = SecretStr(secrets.token_urlsafe(32))
    web = settings.web.model_copy(update=update)
    return settings.model_copy(update={"web": web}), password


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port, for the console to serve on; a one-line error when the port is
    taken or the address is not this machine's, before anything says the console is there."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a restart reuses the port at once
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        where = host_port(host, port)
        if exc.errno == errno.EADDRINUSE:
            raise MaskwatchError(f"{where} is in use (another maskwatch serve?): use --port or web.port") from None
        raise MaskwatchError(
            f"cannot listen on {where}: {exc.strerror or exc}: check web.address and web.port (or --port)"
        ) from None
    return sock


def run_console(app: ASGIApp, sock: socket.socket, ready_line: str) -> None:
    """Serve `app` on the listening `sock` until a signal; print `ready_line` once it serves."""
    import uvicorn

    class Console(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                click.echo(ready_line)

    host, port = sock.getsockname()[:2]
    Console(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)).run(sockets=[sock])


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
    from maskwatch.console.app import create_app

    settings = load_config(config, console=True)
    password = None
    if demo_user:
        settings, password = with_demo_user(settings)
    elif not settings.web.users and not settings.web.api_tokens:
        raise no_config_error(
            config,
            "web.users is empty",
            "add a user (`maskwatch users hash-password`), or try the console with --demo-user",
        )
    port = port or settings.web.port
    sock = listen(settings.web.address, port)
    try:
        engine = open_reader(settings)
        line = f"console on {console_url(settings.web.address, port)}: {_how_to_log_in(settings, password)}"
        run_console(create_app(settings, engine), sock, line)
    finally:
        sock.close()
    return 0
