"""A throwaway PostgreSQL server for the tests and benches: initdb in a temporary folder, 127.0.0.1 only.

One server per test process (pytest-xdist worker), started once; each test gets its own database,
copied from a migrated template (a file copy, far quicker than running the migrations again) or
empty, and dropped when the test ends.

PostgreSQL refuses to run as root, so when the tests run as root (as CI does) the cluster belongs to
the `postgres` system user and its commands run through runuser.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

USER = "clearsite"


# A British English collation (ICU), as a department's server would likely have: ORDER BY on text then
# differs from SQLite's byte order ("alpha" before "Bravo"), and tests find code that relied on it.
_LOCALE = ("--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-GB")


_WATCHDOG = """
import os, shutil, subprocess, sys, time
parent, pg_ctl, data, folder, *run_as = sys.argv[1:]
while True:
    try:
        os.kill(int(parent), 0)
    except ProcessLookupError:
        break
    time.sleep(1)
subprocess.run([*run_as, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True, timeout=60)
shutil.rmtree(folder, ignore_errors=True)
"""


def _binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def available() -> str | None:
    """Why a server cannot be started here, or None when it can."""
    if not _binary("initdb") or not _binary("pg_ctl"):
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0 and subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
        return "running as root and there is no 'postgres' user to own the cluster"
    return None


class PostgresServer:
    """A running cluster on 127.0.0.1:`port` with trust authentication for the `clearsite` superuser,
    or (`existing`, a URL whose user may create databases) a server someone else runs."""

    def __init__(self, max_connections: int = 100, shared_buffers: str = "128MB", existing: str | None = None) -> None:
        self._names = itertools.count(1)
        self._template_ready = False
        self.template = f"clearsite_template_{os.getpid()}"  # per process: several may share an existing server
        self._existing = make_url(existing) if existing else None
        if self._existing is not None:
            return
        self.folder = tempfile.mkdtemp(prefix="clearsite-pg-")
        self.data = os.path.join(self.folder, "data")
        self.port = _free_port()
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_postgres:
            shutil.chown(self.folder, "postgres")
        initdb = [_binary("initdb") or "initdb", "-D", self.data, "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync"]
        try:
            self._run(*initdb, *_LOCALE)
        except subprocess.CalledProcessError:  # a PostgreSQL built without ICU (or older than 15): plain C.UTF-8
            shutil.rmtree(self.data, ignore_errors=True)
            self._run(*initdb, "--locale=C.UTF-8")
        # fsync off and no synchronous commit: a test cluster is thrown away, durability buys nothing here.
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.folder} "
                   f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   f"-c max_connections={max_connections} -c shared_buffers={shared_buffers}")
        self._run(_binary("pg_ctl") or "pg_ctl", "-D", self.data, "-w", "-l", os.path.join(self.folder, "log"),
                  "-o", options, "start")
        # pg_ctl detaches the server: if this process is killed (a test run stopped by a timeout), a small
        # watcher stops the cluster and deletes its folder instead of leaving it running for good.
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), _binary("pg_ctl") or "pg_ctl", self.data, self.folder,
             *self._as_postgres], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self._as_postgres, *cmd], check=True, capture_output=True, timeout=120)

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        if self._existing is not None:
            return self._existing.set(drivername=driver, database=database).render_as_string(hide_password=False)
        return f"{driver}://{USER}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url(driver="postgresql"), autocommit=True)

    def _ensure_template(self) -> None:
        """A database migrated to the head, to copy: migrating a fresh one per test would cost a second each."""
        if self._template_ready:
            return
        from clearsite.store.db import open_database

        with self._admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.template)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.template)))
        open_database(self.url(self.template)).dispose()  # no connection may stay open on a template being copied
        self._template_ready = True

    def create_database(self, migrated: bool = True) -> str:
        """A new database (migrated to the head, or empty) and its SQLAlchemy URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        if migrated:
            self._ensure_template()
        source = self.template if migrated else "template0"
        with self._admin() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(name), sql.Identifier(source)))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by create_database, ending any connection a test left open on it."""
        name = url.rsplit("/", 1)[1]
        with self._admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    @contextmanager
    def database(self, migrated: bool = True) -> Iterator[str]:
        url = self.create_database(migrated)
        try:
            yield url
        finally:
            self.drop_database(url)

    def stop(self) -> None:
        if self._existing is not None:
            if self._template_ready:
                self.drop_database(self.url(self.template))
            return
        subprocess.run([*self._as_postgres, _binary("pg_ctl") or "pg_ctl", "-D", self.data, "-m", "immediate",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)
        self._watchdog.kill()
        self._watchdog.wait(10)


@contextmanager
def running_server(**options: object) -> Iterator[PostgresServer]:
    server = PostgresServer(**options)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def temporary_server() -> Iterator[str]:
    """Start a cluster, yield the URL of an empty database on it, stop and delete it."""
    with running_server() as server, server.database(migrated=False) as url:
        yield url
