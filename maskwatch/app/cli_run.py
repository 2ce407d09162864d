"""Commands that run the service: `run` (every stage in one process), one command per stage, and
`demo`."""

from __future__ import annotations

from pathlib import Path

import click

from maskwatch.app.cli_base import Group, command, is_verbose
from maskwatch.app.cli_ops import alerts_retry, alerts_test
from maskwatch.app.shared import config_option, load_config, no_config_error
from maskwatch.config import ConfigError
from maskwatch.logs import setup_logging

STAGE_HELP = {
    "ingest": "Read cameras and queue sampled frames.",
    "infer": "Detect and classify queued frames (run as many as needed).",
    "record": "Track faces and record violations with snapshots.",
    "alerts": "Deliver webhook, e-mail and MQTT alerts from the outbox.",
}


def run_stages(config: Path | None, stages: tuple[str, ...], until_done: bool = False) -> int:
    """Run `stages` in this process until a signal (or, `until_done`, the end of every recording)."""
    import threading

    from maskwatch.app.runtime import Runtime, install_signal_handlers

    settings = load_config(config)
    setup_logging(settings.logging, verbose=is_verbose())
    if not settings.cameras and {"ingest", "infer"} & set(stages):
        raise no_config_error(config, "no cameras configured")
    stop = threading.Event()
    runtime = Runtime(settings, stages, config_path=config)
    install_signal_handlers(stop, runtime.reload_requested)
    runtime.start()
    return runtime.wait(stop, until_sources_finish=until_done)


@command("run", short_help="All stages in one process (embedded, or production URLs from the config).")
@config_option
@click.option("--until-done", is_flag=True, help="Stop by itself once every recording has played.")
def run(config: Path | None, until_done: bool) -> int:
    """Every stage in one process: embedded (in-memory queue, SQLite) or with the queue and database
    URLs of the config. SIGHUP or a change of the file reloads the cameras. The web console is
    `maskwatch serve`; this command does not need its settings."""
    from maskwatch.app.registry import STAGES

    return run_stages(config, tuple(STAGES), until_done)


def _stage_command(stage: str) -> click.Command:
    def callback(config: Path | None) -> int:
        return run_stages(config, (stage,))

    text = f"One stage per process: {STAGE_HELP[stage][0].lower()}{STAGE_HELP[stage][1:]}"
    return command(stage, help=text, short_help=text)(config_option(callback))


@click.group(
    "alerts",
    cls=Group,
    invoke_without_command=True,
    short_help=f"One stage per process: {STAGE_HELP['alerts'][0].lower()}{STAGE_HELP['alerts'][1:]}",
)
@config_option
@click.pass_context
def alerts(ctx: click.Context, config: Path | None) -> int:
    """One stage per process: deliver webhook, e-mail and MQTT alerts from the outbox. With a command
    (`retry`, `test`), that command instead."""
    if ctx.invoked_subcommand is not None:
        return 0
    return run_stages(config, ("alerts",))


alerts.add_command(alerts_retry)
alerts.add_command(alerts_test)


@command("demo", short_help="Render a demo clip and run the whole service on it.")
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("configs/demo.yaml"),
    show_default=True,
    metavar="FILE",
    help="The demo's config (not $MASKWATCH_CONFIG: the demo replaces its camera's clip and database).",
)
def demo(config: Path) -> int:
    """Render a demo clip, run the whole service on it, list what it recorded. Then open the
    console on it: maskwatch serve --config configs/demo.yaml --demo-user"""
    from maskwatch.app.demo import run_demo

    settings = load_config(config)
    if len(settings.cameras) != 1:
        raise ConfigError(f"{config}: the demo config needs exactly one camera (its clip is rendered there)")
    return run_demo(settings, config)


COMMANDS: tuple[click.Command, ...] = (run, *(_stage_command(s) for s in ("ingest", "infer", "record")), alerts, demo)
