"""The `maskwatch` command line: the top-level group, its sections, the database and config tools,
and `main`, which turns a user's error into one line on standard error and exit status 2.

Exit status: 0 done; 1 it ran and failed (a stage stopped, an input could not be read, a
download failed); 2 the command line, the config or a value given is wrong (the line says what);
130 interrupted."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from maskwatch.app import cli_events, cli_model, cli_ops, cli_review, cli_run, cli_serve
from maskwatch.app.cli_base import Group, group, is_verbose
from maskwatch.app.shared import CONFIG_ENV, LOCAL_CONFIG, config_option, load_config, relative_paths
from maskwatch.errors import MaskwatchError
from maskwatch.logs import setup_logging

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

SECTIONS = (
    ("Run", ("run", "ingest", "infer", "record", "alerts", "serve", "demo")),
    ("Review", ("events", "report", "cameras")),
    ("Operate", ("config", "db", "users", "privacy", "probe")),
    ("Model", ("detect", "evaluate", "evaluate-events", "calibrate", "train", "export-dataset", "models", "bench")),
)

DESCRIPTION = (
    "Watch existing CCTV cameras for people without a face mask (or with it under the nose): record violations "
    "with snapshots, review them, send alerts, report compliance."
)
EPILOG = (
    f"Commands that read a config take --config FILE; without it, ${CONFIG_ENV}, else ./{LOCAL_CONFIG} if it "
    "exists, else the built-in defaults (-v says which it read). Relative paths in a config are read from the "
    "current directory. Exit status: 0 done, 1 failed, 2 wrong usage, config or value."
)


@click.group(
    "maskwatch",
    cls=Group,
    sections=SECTIONS,
    invoke_without_command=True,
    help=DESCRIPTION,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)
@click.version_option(package_name="maskwatch", prog_name="maskwatch", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context) -> int:
    setup_logging(verbose=is_verbose(ctx))
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
    return 0


@group("db", short_help="Database tools.")
def db() -> None:
    """Database tools."""


@db.command("upgrade", short_help="Create the database, or apply its migrations.")
@config_option
def db_upgrade(config: Path | None) -> int:
    """Create the configured database, or bring its schema up to date (Alembic migrations)."""
    from maskwatch.storage.db import open_database

    open_database(load_config(config).database.url).dispose()
    return 0


@group("config", short_help="Configuration tools.")
def config_group() -> None:
    """Configuration tools."""


@config_group.command("check", short_help="Validate a config; print it resolved, secrets redacted.")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False), metavar="[FILE]")
@config_option
def config_check(file: Path | None, config: Path | None) -> int:
    """Validate a config file (FILE, or --config and its defaults) as the console reads it, every
    environment variable included; print it resolved, with secrets redacted."""
    import yaml

    given = click.get_current_context().get_parameter_source("config") == click.core.ParameterSource.COMMANDLINE
    if file is not None and given and file != config:
        raise click.UsageError(f"two config files given ({file} and --config {config}): give one")
    path = file or config
    settings = load_config(path, console=True, given_as="the FILE argument" if file is not None else None)
    print(yaml.safe_dump(settings.redacted(), sort_keys=False), end="")
    print(f"# {path or 'built-in defaults'}: valid ({len(settings.cameras)} camera(s))", file=sys.stderr)
    from maskwatch.alerts.links import link_notes

    for note in link_notes(settings):
        print(f"# note: {note}", file=sys.stderr)
    for name, relative in relative_paths(settings):
        print(
            f"# note: {name} {relative} is read from the current directory: here {relative.absolute()}", file=sys.stderr
        )
    return 0


for _command in (
    *cli_run.COMMANDS,
    cli_serve.serve,
    *cli_review.COMMANDS,
    *cli_ops.COMMANDS,
    db,
    config_group,
    *cli_model.COMMANDS,
    cli_events.evaluate_events_command,
):
    cli.add_command(_command)


def one_line(exc: BaseException) -> str:
    """The message on one line: a config's list of problems joined with `; `."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if len(lines) < 2:
        return lines[0] if lines else type(exc).__name__
    return f"{lines[0].rstrip(':')}: {'; '.join(lines[1:])}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (`argv`, default: the process's); return the exit status."""
    try:
        result = cli.main(args=list(argv) if argv is not None else None, prog_name="maskwatch", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        return EXIT_INTERRUPTED
    except MaskwatchError as exc:
        click.echo(f"Error: {one_line(exc)}", err=True)
        # A failure outside the user's input (a download) is a failed run; the rest is theirs to fix.
        return 1 if isinstance(exc, RuntimeError) else EXIT_USAGE
    return result if isinstance(result, int) else 0


def resolve(argv: Sequence[str]) -> click.Command:
    """The command that `argv` names, its arguments and options checked, without running it (the
    deployment files' commands are checked so); a click.UsageError when it is not a valid command line."""
    command: click.Command = cli
    name, args, parent = "maskwatch", list(argv), None
    while True:
        ctx = click.Context(command, info_name=name, parent=parent, **command.context_settings)
        if not isinstance(command, click.Group):
            command.parse_args(ctx, args)
            return command
        rest = click.Command.parse_args(command, ctx, args)  # the group's own options; the rest is its command's
        if not rest:
            return command
        found_name, found, args = command.resolve_command(ctx, rest)
        if found is None:
            raise click.UsageError(f"no command {rest[0]!r}", ctx)
        command, name, parent = found, found_name or rest[0], ctx


if __name__ == "__main__":
    sys.exit(main())
