"""Shared fixtures: a small fixed knowledge base for engine tests, the packaged one, and databases."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from clearsite.core.knowledge import Knowledge
from clearsite.formats.knowledge import load_knowledge

if TYPE_CHECKING:
    from tests.postgres_server import PostgresServer

FIXTURE_KB = Path(__file__).parent / "fixtures" / "kb"

# A knowledge base installed on this machine (`clearsite knowledge install`) or trusted keys in the
# user's config must not change what the tests load: every test process, and the CLI subprocesses
# they start, look in empty per-run homes instead. Set before anything loads knowledge.
_HOMES = Path(tempfile.mkdtemp(prefix="clearsite-test-home-"))
os.environ["XDG_DATA_HOME"] = str(_HOMES / "data")
os.environ["XDG_CONFIG_HOME"] = str(_HOMES / "config")
os.environ.pop("CLEARSITE_KNOWLEDGE_DIR", None)
os.environ.pop("CLEARSITE_TRUSTED_KEYS", None)
# Test sites and the emulated fleet live on 127/8, which a real site may not declare unless allowed.
os.environ["CLEARSITE_ALLOW_LOOPBACK_NETWORKS"] = "1"

# No property test may fail because a busy machine ran one example slowly: hypothesis's per-example
# deadline and its too-slow health check are timing, not behaviour.
settings.register_profile("clearsite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("clearsite")


@pytest.fixture(scope="session")
def kb() -> Knowledge:
    """A small fixed knowledge base, so engine tests do not move when the real data grows."""
    return load_knowledge(FIXTURE_KB)


@pytest.fixture(scope="session")
def packaged_kb() -> Knowledge:
    return load_knowledge()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'clearsite.db'}"


def _postgres_unavailable(reason: str) -> None:
    """Skip on a developer's machine without PostgreSQL; in CI a missing server is a failure, not a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server per test process (each xdist worker starts its own), or the server at
    $CLEARSITE_TEST_POSTGRES_URL (its user must be able to create databases)."""
    from tests.postgres_server import PostgresServer, available

    given = os.environ.get("CLEARSITE_TEST_POSTGRES_URL")
    if not given and (reason := available()):
        _postgres_unavailable(reason)
    server = PostgresServer(existing=given, max_connections=200)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """An empty PostgreSQL database of the test's own (not migrated: migration tests start from nothing)."""
    with postgres_server.database(migrated=False) as url:
        yield url


# Both databases, every time: the store, service and /api/v1 tests take `store_url` (one database per
# test) or `store_url_module` (one per module, for modules that build a world once), and run once on
# SQLite and once on PostgreSQL.
BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]


@contextmanager
def _database(backend: str, folder: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if backend == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{folder / 'clearsite.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with server.database(migrated=True) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database on SQLite, then on PostgreSQL (migrated to the head: open_database finds it current)."""
    with _database(request.param, tmp_path, request) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def new_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """For tests that compare several databases: each call gives another fresh one on the same backend."""
    with ExitStack() as stack:
        made = itertools.count(1)
        yield lambda: stack.enter_context(_database(request.param, tmp_path / f"db{next(made)}", request))


@pytest.fixture(scope="module", params=BACKENDS)
def store_url_module(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """As store_url, one database for the whole module on each backend."""
    with _database(request.param, tmp_path_factory.mktemp(request.param), request) as url:
        yield url


CliResult = subprocess.CompletedProcess[str]


@pytest.fixture
def cli(tmp_path: Path, db_url: str) -> Callable[..., CliResult]:
    """Run the real `clearsite` command in a subprocess against a fresh database, in tmp_path."""

    def run(*args: str, check: bool = True, env: dict[str, str] | None = None) -> CliResult:
        full_env = {**os.environ, "CLEARSITE_DATABASE_URL": db_url, **(env or {})}
        result = subprocess.run([sys.executable, "-m", "clearsite", *args], cwd=tmp_path, env=full_env,
                                capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"clearsite {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    return run
