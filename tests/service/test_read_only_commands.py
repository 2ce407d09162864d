"""Commands that read or review open the database as it is: a wrong path or an old schema is
said plainly, and nothing is created or migrated behind the operator's back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from maskwatch.app.cli import main
from maskwatch.storage.db import migrate, open_database

READERS = (
    ["events", "list"],
    ["events", "show", "1"],
    ["cameras", "status"],
    ["cameras", "gaps"],
    ["report", "--since", "1d"],
)


def config_for(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "maskwatch.yaml"
    cfg.write_text(yaml.safe_dump({"database": {"url": url}}))
    return cfg


def revision(url: str) -> str | None:
    engine = create_engine(url)
    with engine.connect() as c:
        found = c.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    return found


@pytest.mark.parametrize("command", READERS, ids=lambda c: " ".join(c[:2]))
def test_a_missing_database_is_reported_and_not_created(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "typo" / "maskwatch.db"
    cfg = config_for(tmp_path, f"sqlite:///{db}")
    assert main([*command, "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"no database at {db}" in err and len(err.strip().splitlines()) == 1  # one line, no traceback
    assert not db.exists() and not db.parent.exists()


def test_an_older_schema_is_reported_and_left_as_it_is(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = open_database(database_url)
    head = revision(database_url)
    migrate(engine, "-1", down=True)
    engine.dispose()
    older = revision(database_url)
    assert older != head
    cfg = config_for(tmp_path, database_url)
    for command in READERS:
        assert main([*command, "--config", str(cfg)]) == 2, command
    said = capsys.readouterr().err
    assert f"schema is at revision {older}" in said and "maskwatch db upgrade` with the same --config" in said
    assert revision(database_url) == older  # nothing migrated it
    assert main(["db", "upgrade", "--config", str(cfg)]) == 0
    assert revision(database_url) == head
    assert f"database schema upgraded from revision {older} to {head}" in capsys.readouterr().err  # not "up to date"
    assert main(["events", "list", "--config", str(cfg)]) == 0


def test_a_newer_schema_is_reported(database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    open_database(database_url).dispose()
    engine = create_engine(database_url)
    with engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    engine.dispose()
    assert main(["events", "list", "--config", str(config_for(tmp_path, database_url))]) == 2
    assert "newer than this maskwatch knows" in capsys.readouterr().err
