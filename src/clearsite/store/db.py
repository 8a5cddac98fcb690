"""Opening the database: SQLite file by default (WAL), any SQLAlchemy URL otherwise; migrated on first use."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from alembic.config import Config

from clearsite.core.errors import InputError, UnavailableError

DEFAULT_URL = "sqlite:///clearsite.db"
ENV_VAR = "CLEARSITE_DATABASE_URL"
SQLITE_PAGE_SIZE = 16_384
_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x0C5E_0001  # pg_advisory_lock key held while one process migrates
_POOL_VARS = (("CLEARSITE_DB_POOL_SIZE", "pool_size", 5), ("CLEARSITE_DB_MAX_OVERFLOW", "max_overflow", 10),
              ("CLEARSITE_DB_POOL_TIMEOUT", "pool_timeout", 30), ("CLEARSITE_DB_POOL_RECYCLE", "pool_recycle", 1800))


class DatabaseError(UnavailableError, RuntimeError):
    """The database could not be opened or migrated; the message says which and why."""


def database_url(explicit: str | None = None) -> str:
    return explicit or os.environ.get(ENV_VAR) or DEFAULT_URL


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # Takes effect only on a new database (before WAL mode is set): 16 KiB pages make bulk imports about
    # a third faster to write than the 4 KiB default, with fewer B-tree splits and less to commit.
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the web app) do not block the importer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _create_private(database: str | None) -> None:
    """Create a new SQLite file readable by its owner alone (0600), whatever the umask.

    It holds a map of weaknesses at sensitive sites. SQLite gives its -wal and -shm files the
    database file's mode, so they follow. A symlink in its place is refused, not followed.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        descriptor = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        if Path(database).is_symlink():
            raise DatabaseError(f"{database}: is a symbolic link; give the database file itself") from None
        return
    except OSError as exc:
        raise DatabaseError(f"cannot create database {database}: {exc.strerror}") from exc
    os.fchmod(descriptor, 0o600)
    os.close(descriptor)


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # Alembic (~6 MB) loads only when a database needs migrating

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def open_database(url: str | None = None, migrate: bool = True) -> Engine:
    """An engine on the database at `url`, created and migrated to the latest schema."""
    resolved = database_url(url)
    try:
        parsed = make_url(resolved)
    except Exception as exc:
        raise DatabaseError(f"database URL {resolved!r} is not valid: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        _create_private(parsed.database)
        engine = create_engine(resolved, json_deserializer=orjson.loads)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(resolved, pool_pre_ping=True, json_deserializer=orjson.loads, **pool_settings())
    if migrate:
        try:
            upgrade(engine)
        except Exception as exc:
            raise DatabaseError(f"cannot open database {parsed.render_as_string(hide_password=True)}: "
                                f"{' '.join(str(exc).split())[:300]}") from exc
    return engine


_REVISION = re.compile(r"""^revision\s*=\s*['"]([^'"]+)['"]\s*$""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"""^down_revision\s*=\s*(?:None|['"]([^'"]+)['"])\s*$""", re.MULTILINE)


@cache
def head_revision() -> str | None:
    """The newest migration's revision, read from the scripts' `revision`/`down_revision` lines without
    loading Alembic; None when the chain is not one plain line (then Alembic itself is asked)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (_MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _is_current(engine: Engine) -> bool:
    """The database is at the head already: every process after the first (each server worker, each
    command) opens it without loading Alembic."""
    head = head_revision()
    if head is None:
        return False
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        stamped = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    return stamped == [head]


def upgrade(engine: Engine) -> None:
    if _is_current(engine):
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = _alembic_config(engine)
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        if MigrationContext.configure(connection).get_current_revision() == head:
            return
    if engine.dialect.name != "postgresql":
        command.upgrade(config, "head")
        return
    # Several server workers (or servers) starting at once on a new release would all migrate: the first
    # to take this session lock does it, the rest wait and then find the database at the head.
    with engine.connect() as holder:
        holder.exec_driver_sql("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            command.upgrade(config, "head")
        finally:
            holder.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
            holder.commit()


def pool_settings(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """Connection pool sizes for a database server, from the environment (each server worker has its own pool).

    CLEARSITE_DB_POOL_SIZE      connections kept open per process (default 5)
    CLEARSITE_DB_MAX_OVERFLOW   extra ones opened under load and closed after (default 10)
    CLEARSITE_DB_POOL_TIMEOUT   seconds a request waits for a free connection before failing (default 30)
    CLEARSITE_DB_POOL_RECYCLE   seconds after which a connection is replaced (default 1800)

    Size PostgreSQL's max_connections for workers × (pool size + overflow), plus the CLI and a margin.
    """
    env = os.environ if environ is None else environ
    settings = {}
    for variable, name, default in _POOL_VARS:
        raw = env.get(variable, "").strip()
        try:
            value = int(raw) if raw else default
        except ValueError:
            raise InputError(f"{variable}={raw!r} is not a whole number") from None
        if value < 0 or (name == "pool_size" and value == 0):
            raise InputError(f"{variable}={raw!r} must be {'at least 1' if name == 'pool_size' else '0 or more'}")
        settings[name] = value
    return settings
