"""A throwaway PostgreSQL server for the tests: initdb in a temporary folder, listening on 127.0.0.1 only.

PostgreSQL refuses to run as root, so when the tests run as root (as CI does) the cluster belongs to
the `postgres` system user and its commands run through runuser.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


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


@contextmanager
def temporary_server() -> Iterator[str]:
    """Start a cluster, yield its SQLAlchemy URL, stop and delete it."""
    folder = tempfile.mkdtemp(prefix="clearsite-pg-")
    data = os.path.join(folder, "data")
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(folder, "postgres")
    port = _free_port()
    run = lambda *cmd: subprocess.run([*as_postgres, *cmd], check=True, capture_output=True, timeout=120)  # noqa: E731
    try:
        run(_binary("initdb"), "-D", data, "-U", "clearsite", "--auth=trust", "-E", "UTF8", "--no-sync")
        run(_binary("pg_ctl"), "-D", data, "-w", "-l", os.path.join(folder, "log"), "-o",
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder} -c fsync=off", "start")
        run(_binary("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "clearsite", "clearsite")
        yield f"postgresql+psycopg://clearsite@127.0.0.1:{port}/clearsite"
    finally:
        subprocess.run([*as_postgres, _binary("pg_ctl") or "pg_ctl", "-D", data, "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
