"""The building blocks of the `maskwatch` command line (click): every command and group accepts
`-v/--verbose`, before or after its name, and the top-level help lists the commands by purpose."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from maskwatch.logs import setup_logging

_VERBOSE = "maskwatch.verbose"
F = TypeVar("F", bound=Callable[..., Any])


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.find_root().meta[_VERBOSE] = True
        setup_logging(verbose=True)


def is_verbose(ctx: click.Context | None = None) -> bool:
    """Whether `-v` was given anywhere on the command line."""
    ctx = ctx or click.get_current_context()
    return bool(ctx.find_root().meta.get(_VERBOSE))


def _verbose_option() -> click.Option:
    return click.Option(
        ["-v", "--verbose"],
        is_flag=True,
        expose_value=False,
        callback=_set_verbose,
        help="Debug logging (accepted before or after the command name).",
    )


class Command(click.Command):
    """A command with `-v/--verbose` among its own options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_verbose_option())


class Group(click.Group):
    """A group whose commands (and subgroups) take `-v` too; `sections` (title, command names)
    orders its help by purpose, and commands in no section are listed last."""

    command_class = Command
    group_class = type  # subgroups are Groups as well

    def __init__(self, *args: Any, sections: Sequence[tuple[str, Sequence[str]]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_verbose_option())
        self.sections = tuple(sections)

    def list_commands(self, ctx: click.Context) -> list[str]:
        placed = [name for _, names in self.sections for name in names if name in self.commands]
        return placed + sorted(set(self.commands) - set(placed))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if not self.sections:
            super().format_commands(ctx, formatter)
            return
        shown = {n: c for n, c in self.commands.items() if not c.hidden}
        limit = formatter.width - 6 - max(map(len, shown), default=0)
        placed: set[str] = set()
        for title, names in (*self.sections, ("Other commands", sorted(shown))):
            rows = [(n, shown[n].get_short_help_str(limit)) for n in names if n in shown and n not in placed]
            placed.update(n for n, _ in rows)
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def command(name: str, **kwargs: Any) -> Callable[[F], Command]:
    """`@click.command`, with `-v` added."""
    return click.command(name, cls=Command, **kwargs)


def group(name: str, **kwargs: Any) -> Callable[[F], Group]:
    """`@click.group`, with `-v` added to it and its commands."""
    return click.group(name, cls=Group, **kwargs)
