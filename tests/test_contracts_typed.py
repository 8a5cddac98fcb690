"""The contract module and the golden files say the same thing.

Every golden file in tests/golden (but the command tree and the OpenAPI summary, which are not JSON
answers) is matched with the TypedDict in clearsite.core.contracts that names its shape, and the two
are compared key by key, all the way down through nested TypedDicts and lists of them:

- every key the golden shape carries is a key of the TypedDict, and every TypedDict key is in the
  golden shape (the golden data populates every optional field);
- a key the golden file marks "key?" (some list items lack it) is NotRequired in the TypedDict, and a
  required key is never marked so.

The web API's pydantic response models are held to the same TypedDicts, field for field.
"""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any, NotRequired, Required, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from clearsite.core import contracts as c
from clearsite.web import api_agents, schemas

GOLDEN = Path(__file__).parent / "golden"

# golden file -> the type of the whole answer
CONTRACTS: dict[str, Any] = {
    "cli/assess": list[c.AssessFinding],
    "cli/audit-verify": c.AuditVerification,
    "cli/review": c.DecisionRecorded,
    "cli/review-history": list[c.ReviewHistoryEntry],
    "cli/alerts-destination-list": list[c.AlertDestination],
    "cli/alerts-dead-letters": list[c.AlertDelivery],
    "api/post-alert-destinations": c.AlertDestination,
    "api/get-alert-destinations": list[c.AlertDestination],
    "api/delete-alert-destination": None,
    "api/get-alert-dead-letters": list[c.AlertDelivery],
    "api/post-alert-redeliver": c.AlertDelivery,
    "cli/devices": list[c.Device],
    "cli/devices-with-removal": list[c.Device],
    "cli/orders-create": c.OrdersCreated,
    "cli/orders-list": list[c.Order],
    "cli/orders-show": c.OrderDetail,
    "cli/removal-record": c.RemovalRecorded,
    "cli/alerts": list[c.Alert],
    "cli/status-report": c.StatusReport,
    "cli/identify": c.Device,
    "cli/import-masscan": c.ScannerFileImportSummary,
    "cli/import-nmap": c.ScannerFileImportSummary,
    "cli/import-register": c.RegisterImportSummary,
    "cli/import-switch": c.ScannerFileImportSummary,
    "cli/import-vms": c.VmsImportSummary,
    "cli/knowledge-diff": c.KnowledgeDiff,
    "cli/knowledge-import-designations": c.DesignationImport,
    "cli/plan": c.Plan,
    "cli/plan-compare": c.PlanComparison,
    "cli/publish-internal-sites": list[c.InternalSiteRow],
    "cli/publish-public-progress": c.PublicProgress,
    "cli/reconcile": c.Reconciliation,
    "cli/report-json": c.Report,
    "cli/scan": c.ScanSummary,
    "cli/screen": list[c.ScreenDecision],
    "cli/sim-manifest": c.SimManifest,
    "cli/site-list": list[c.SiteListRow],
    "api/delete-token": None,
    "api/error-401": c.ErrorBody,
    "api/error-403": c.ErrorBody,
    "api/error-404": c.ErrorBody,
    "api/error-405": c.ErrorBody,
    "api/error-409": c.ErrorBody,
    "api/error-413": c.ErrorBody,
    "api/error-422-body": c.ValidationErrorBody,
    "api/error-422-invalid-json": c.ValidationErrorBody,
    "api/error-422-query": c.ErrorBody,
    "api/get-audit": list[c.AuditEntry],
    "api/get-audit-verify": c.AuditVerification,
    "api/get-dashboard": c.Dashboard,
    "api/get-device": c.DeviceDetail,
    "api/post-decision": c.DecisionRecorded,
    "api/post-decisions": c.DecisionRecorded,
    "api/get-decisions": list[c.ReviewHistoryEntry],
    "api/get-review": list[c.Device],
    "api/get-devices": list[c.Device],
    "api/post-orders": c.OrdersCreated,
    "api/get-orders": list[c.Order],
    "api/get-order": c.OrderDetail,
    "api/post-order-extensions": c.OrderDetail,
    "api/post-extension-decision": c.OrderDetail,
    "api/post-order-status": c.OrderDetail,
    "api/post-removals": c.RemovalRecorded,
    "api/get-alerts": list[c.Alert],
    "api/get-status-report": c.StatusReport,
    "api/get-findings": list[c.StoredFinding],
    "api/get-me": c.Me,
    "api/post-sign-out-everywhere": c.SessionsEnded,
    "api/get-reconciliation": c.ReconciliationIds,
    "api/get-reconciliation-nothing-seen": c.ReconciliationIds | None,
    "api/get-site": c.Site,
    "api/get-sites": list[c.Site],
    "api/patch-site": c.Site,
    "api/post-attestations": c.Created,
    "api/post-observations": c.ObservationsAccepted,
    "api/post-removal": None,
    "api/post-screen": c.ScreenAnswer,
    "api/post-sites": c.Site,
    "api/post-tokens": c.TokenCreated,
    "api/post-users": c.UserCreated,
    "api/get-agent-site": c.AgentSite,
    "api/post-agent-batches": c.AgentBatchApplied,
    "api/post-agent-heartbeat": c.AgentHeartbeat,
    "api/post-agents-jobs": c.AgentJob,
    "api/post-agent-jobs-claim": list[c.AgentJob],
    "api/post-agent-job-report": None,
    "api/get-agents": list[c.AgentHealth],
    "api/get-evidence-packs": c.EvidencePackManifest,
    "cli/agent-status": c.AgentStatus,
    "cli/agent-health": list[c.AgentHealth],
    "cli/token-list": list[c.TokenListRow],
    "cli/user-list": list[c.UserListRow],
}
NOT_ANSWERS = {"cli/command-tree", "api/openapi"}


def golden(name: str) -> Any:
    contract = json.loads((GOLDEN / f"{name}.json").read_text())["contract"]
    return contract["shape"] if name.startswith("api/") else contract


def _strip(tp: Any) -> Any:
    """The type without Required/NotRequired around it."""
    while get_origin(tp) in (Required, NotRequired):
        tp = get_args(tp)[0]
    return tp


def _alternatives(tp: Any) -> list[Any]:
    """A union's members (None dropped); a single type as itself."""
    tp = _strip(tp)
    if get_origin(tp) in (typing.Union, types.UnionType):
        return [a for a in get_args(tp) if a is not type(None)]
    return [] if tp is type(None) else [tp]


def _nullable(tp: Any) -> bool:
    tp = _strip(tp)
    return tp is None or tp is type(None) or (
        get_origin(tp) in (typing.Union, types.UnionType) and type(None) in get_args(tp))


def compare(tp: Any, shape: Any, where: str) -> list[str]:
    """What differs between a type and a golden shape (an empty list: they agree)."""
    if shape is None:  # a scalar or null in the golden data: the type must allow one
        options = _alternatives(tp)
        if _nullable(tp) or any(not (is_typeddict(o) or get_origin(o) in (list, dict)) for o in options):
            return []
        return [f"{where}: golden has a scalar or null, the contract says {tp!r}"]
    options = _alternatives(tp)
    if isinstance(shape, list):
        lists = [o for o in options if get_origin(o) is list]
        if not lists:
            return [f"{where}: golden has a list, the contract says {tp!r}"]
        if not shape:  # a list of scalars, or empty: nothing more to check
            return []
        return compare(get_args(lists[0])[0], shape[0], f"{where}[]")
    typed = [o for o in options if is_typeddict(o)]
    if typed:
        return compare_typeddict(typed[0], shape, where)
    mappings = [o for o in options if get_origin(o) is dict or o is dict]
    if mappings:  # keys are data: check each value against the value type, if it names one
        value_type = get_args(mappings[0])[1] if get_args(mappings[0]) else Any
        if value_type is Any:
            return []
        return [p for key, sub in shape.items() for p in compare(value_type, sub, f"{where}.{key}")]
    return [f"{where}: golden has an object, the contract says {tp!r}"]


def compare_typeddict(td: Any, shape: dict[str, Any], where: str) -> list[str]:
    hints = get_type_hints(td, include_extras=True)
    required, optional = set(td.__required_keys__), set(td.__optional_keys__)
    plain = {k.removesuffix("?"): k for k in shape}
    problems = []
    if set(plain) != required | optional:
        problems.append(f"{where or '(top)'} {td.__name__}: only in golden {sorted(set(plain) - set(hints))}, "
                        f"only in contract {sorted(set(hints) - set(plain))}")
    for key, golden_key in plain.items():
        if key not in hints:
            continue
        if golden_key.endswith("?") and key in required:
            problems.append(f"{where}.{key}: some golden items lack it, but {td.__name__} requires it")
        problems += compare(hints[key], shape[golden_key], f"{where}.{key}" if where else key)
    return problems


def test_every_golden_answer_has_a_contract() -> None:
    present = {str(p.relative_to(GOLDEN).with_suffix("")) for p in GOLDEN.rglob("*.json")}
    assert present - NOT_ANSWERS == set(CONTRACTS)


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_the_contract_matches_the_golden_keys(name: str) -> None:
    expected = CONTRACTS[name]
    shape = golden(name)
    if expected is None:
        assert shape is None, f"{name}: an empty answer is pinned, the golden file has {shape!r}"
        return
    problems = compare(expected, shape, "")
    assert not problems, f"{name}: clearsite.core.contracts and the golden file disagree:\n  " + "\n  ".join(problems)


def test_every_contract_is_used_and_exported() -> None:
    """Each TypedDict in the module is exported, and reachable from some golden answer."""
    declared = {n for n, v in vars(c).items() if is_typeddict(v) and v.__module__ == c.__name__}
    assert declared == set(c.__all__)
    reached: set[str] = set()

    def walk(tp: Any) -> None:
        for option in _alternatives(tp):
            if is_typeddict(option) and option.__name__ not in reached:
                reached.add(option.__name__)
                for hint in get_type_hints(option, include_extras=True).values():
                    walk(hint)
            for arg in get_args(option):
                walk(arg)

    for tp in CONTRACTS.values():
        if tp is not None:
            walk(tp)
    assert declared == reached, f"contracts no golden answer uses: {sorted(declared - reached)}"


def test_the_comparison_notices_a_difference() -> None:
    assert compare(c.Producer, {"id": None, "name": None}, "") != []
    assert compare(c.Producer, {"id": None, "name": None, "country": None, "extra": None}, "") != []
    assert compare(list[c.Network], [{"cidr": None, "core?": None}], "") != []
    assert compare(c.Device, [], "") != []
    assert compare(list[c.Network], [{"cidr": None, "core": None}], "") == []


# The API's pydantic response models and the contracts they answer with.
PYDANTIC = [
    (schemas.SiteOut, c.Site),
    (schemas.Network, c.Network),
    (schemas.PushOut, c.ObservationsAccepted),
    (schemas.ScreenOut, c.ScreenAnswer),
    (schemas.TokenOut, c.TokenCreated),
    (schemas.Problem, c.ErrorBody),
    (api_agents.AgentSiteOut, c.AgentSite),
    (api_agents.BatchOut, c.AgentBatchApplied),
    (api_agents.HeartbeatOut, c.AgentHeartbeat),
    (api_agents.JobOut, c.AgentJob),
    (api_agents.AgentHealthOut, c.AgentHealth),
]


@pytest.mark.parametrize(("model", "contract"), PYDANTIC, ids=[m.__name__ for m, _ in PYDANTIC])
def test_each_api_response_model_has_the_contract_keys(model: Any, contract: Any) -> None:
    assert set(model.model_fields) == set(contract.__required_keys__) | set(contract.__optional_keys__)
