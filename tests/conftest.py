"""Shared fixtures: a small fixed knowledge base for engine tests, the packaged one, and databases."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from clearsite.core.knowledge import Knowledge
from clearsite.formats.knowledge import load_knowledge

FIXTURE_KB = Path(__file__).parent / "fixtures" / "kb"

# A knowledge base installed on this machine (`clearsite knowledge install`) or trusted keys in the
# user's config must not change what the tests load: every test process, and the CLI subprocesses
# they start, look in empty per-run homes instead. Set before anything loads knowledge.
_HOMES = Path(tempfile.mkdtemp(prefix="clearsite-test-home-"))
os.environ["XDG_DATA_HOME"] = str(_HOMES / "data")
os.environ["XDG_CONFIG_HOME"] = str(_HOMES / "config")
os.environ.pop("CLEARSITE_KNOWLEDGE_DIR", None)
os.environ.pop("CLEARSITE_TRUSTED_KEYS", None)

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


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL: $CLEARSITE_TEST_POSTGRES_URL, or a throwaway server for this test module."""
    from tests.postgres_server import available, temporary_server

    given = os.environ.get("CLEARSITE_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    reason = available()
    if reason:
        pytest.skip(reason)
    with temporary_server() as url:
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
