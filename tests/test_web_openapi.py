"""Schemathesis against the published OpenAPI: generated requests (valid and not) never make the server fail,
and every answer matches what the schema promises. Runs in process over ASGI."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from clearsite.formats.knowledge import load_knowledge
from clearsite.store.db import open_database
from clearsite.testing import AS_OF, build_world
from clearsite.web import Settings, create_app

schemathesis = pytest.importorskip("schemathesis")

_DIR = Path(tempfile.mkdtemp(prefix="clearsite-openapi-"))
atexit.register(shutil.rmtree, _DIR, True)
_ENGINE = open_database(f"sqlite:///{_DIR / 'api.db'}")
_WORLD = build_world(_ENGINE, load_knowledge(), _DIR)
APP = create_app(_ENGINE, load_knowledge(), Settings(as_of=AS_OF))

# Revoking tokens would pull the admin's own token out from under the run.
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP).exclude(path="/api/v1/tokens/{token_id}")
authed = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP).exclude(path="/api/v1/tokens/{token_id}")


@authed.auth()
class AdminToken:
    """Schemathesis applies the token itself, so it knows when a case is about a missing one."""

    def get(self, case, context):  # type: ignore[no-untyped-def]
        return _WORLD.tokens["admin"]

    def set(self, case, data, context) -> None:  # type: ignore[no-untyped-def]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.mark.slow
@authed.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_api_honours_its_schema(case) -> None:  # type: ignore[no-untyped-def]
    # A schema-valid body may still be refused for what no schema says (a CIDR that is not one, a taken
    # name, an unknown department): 422 with a reason is right there, so that one check is left out.
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=3, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_unauthenticated_calls_are_refused_by_every_operation(case) -> None:  # type: ignore[no-untyped-def]
    response = case.call()
    if case.method.upper() != case.operation.method.upper():
        assert response.status_code == 405  # a method the path does not have
        return
    assert response.status_code in (400, 401, 413, 422), (case.method, case.path, response.status_code)


def test_every_documented_operation_refuses_a_caller_without_a_token() -> None:
    """Cheap and exhaustive: walks the published paths, so a new endpoint without a guard fails here."""
    from fastapi.testclient import TestClient

    spec = APP.openapi()
    with TestClient(APP) as client:
        for path, operations in spec["paths"].items():
            concrete = path.replace("{site_id}", "1").replace("{device_id}", "1").replace("{token_id}", "1")
            for method in operations:
                answer = client.request(method.upper(), concrete, json={} if method != "get" else None)
                assert answer.status_code == 401, (method, path, answer.status_code)
