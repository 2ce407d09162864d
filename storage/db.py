"""Engine creation and schema migration. The stages and `maskwatch db upgrade` migrate; commands
that only read or review open the database as it is and say what is wrong with it."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from maskwatch.errors import MaskwatchError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class DatabaseError(MaskwatchError):
    """The database is unreachable or its schema could not be brought up to date."""


def create_db_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Stages run as threads in embedded mode: wait for the file lock instead of failing.
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine, revision: str = "head", down: bool = False) -> None:
    """Upgrade (or downgrade) the schema to `revision`."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            # SQLite changes a table by rebuilding it, which foreign keys would refuse while rows
            # point at it. The pragma only takes effect outside a transaction, so it comes first.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                (command.downgrade if down else command.upgrade)(cfg, revision)
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def upgrade(engine: Engine) -> None:
    """Apply every pending migration."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        before = _revision(engine)
        migrate(engine)
        after = _revision(engine)
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise DatabaseError(f"database {where}: migration failed: {reason}") from None
    if before == after:
        log.info("database schema is up to date at revision %s (%s)", after, where)
    else:
        log.info("database schema upgraded from revision %s to %s (%s)", before or "none (new)", after, where)


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def open_database(url: str) -> Engine:
    """An engine for `url` with its schema brought up to date: how every process opens the database."""
    engine = create_db_engine(url)
    upgrade(engine)
    return engine


def open_existing(url: str) -> Engine:
    """An engine for a database maskwatch has set up, left as it is: a typo in a path must not
    create an empty database that then reports "0 violations", and reading must not migrate."""
    parsed = make_url(url)
    where = parsed.render_as_string(hide_password=True)
    is_file = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
    if is_file and not Path(str(parsed.database)).is_file():
        raise DatabaseError(f"no database at {parsed.database}: check database.url, or start maskwatch first")
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        engine.dispose()
        raise DatabaseError(f"database {where}: {getattr(exc, 'orig', None) or exc}") from None
    problem = _schema_problem(current, url)
    if problem:
        engine.dispose()
        raise DatabaseError(f"database {where}: {problem}")
    return engine


def _schema_problem(current: str | None, url: str) -> str | None:
    scripts = ScriptDirectory.from_config(alembic_config(url))
    head = scripts.get_current_head()
    if current == head:
        return None
    if current is None:
        return "holds no maskwatch schema: run `maskwatch db upgrade` with the same --config (or start maskwatch) first"
    if current in {rev.revision for rev in scripts.walk_revisions()}:
        return (
            f"its schema is at revision {current}, this maskwatch needs {head}: run `maskwatch db upgrade` "
            "with the same --config"
        )
    return f"its schema revision {current} is newer than this maskwatch knows ({head}): upgrade maskwatch"
