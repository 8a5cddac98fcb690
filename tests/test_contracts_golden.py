"""Golden contracts: the exact key sets of every JSON answer the CLI and /api/v1 give today.

Scripts, site agents and the open-data readers depend on these names. Each output is reduced to its
*shape* (key names all the way down; values dropped) and compared with a file in tests/golden/, so
adding, removing or renaming any key, at any depth, fails here until the golden file is rewritten
on purpose:

    CLEARSITE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_contracts_golden.py

Shapes: an object is {key: shape}; a list is [the merged shape of its items] ([] when it holds only
scalars or nothing); a scalar is null. In a merged list item a key that only some items carry is
written "key?", so a key dropped from some records but not others shows too.

The data is chosen so optional objects are populated (a device with a producer and evidence, a
reconciliation with matches, a plan with visits, shortfalls and unscheduled devices, ...).
Scans go only to an emulated fleet on loopback, 127.83.N.0/29 (N: the xdist worker).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from clearsite.cli import app as cli_app
from clearsite.formats.knowledge import DATA_DIR as KNOWLEDGE_DATA
from clearsite.services import delivery
from clearsite.sim import BY_KEY, Fleet
from clearsite.store.db import open_database
from clearsite.testing import AS_OF, DEPT_A, PASSWORD, World, build_world
from clearsite.web import Settings, create_app

GOLDEN = Path(__file__).parent / "golden"
DATA = Path(__file__).parent / "data"
UPDATE = os.environ.get("CLEARSITE_UPDATE_GOLDEN") == "1"
AS_OF_CLI = "2026-11-29"

# --------------------------------------------------------------------------- shapes


def shape(value: Any) -> Any:
    """Key names all the way down: objects keep their keys, lists merge their items, scalars vanish."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        merged = _merge([shape(item) for item in value])
        return [] if merged is None else [merged]
    return None


def _merge(shapes: list[Any]) -> Any:
    """One shape for the items of a list; a key missing from some object items is marked 'key?'."""
    present = [s for s in shapes if s is not None]
    if not present:
        return None
    if all(isinstance(s, dict) for s in present):
        merged = {}
        for key in sorted({k for s in present for k in s}):
            holders = [s for s in present if key in s]
            name = key if len(holders) == len(present) else f"{key}?"
            merged[name] = _merge([s[key] for s in holders])
        return merged
    if all(isinstance(s, list) for s in present):
        inner = _merge([item for s in present for item in s])
        return [] if inner is None else [inner]
    raise AssertionError(f"list items mix objects and lists: {present!r}")


def paths(tree: Any, prefix: str = "") -> set[str]:
    """A shape as dotted key paths, for a readable difference."""
    found: set[str] = set()
    if isinstance(tree, dict):
        for key, sub in tree.items():
            here = f"{prefix}.{key}" if prefix else key
            found.add(here)
            found |= paths(sub, here)
    elif isinstance(tree, list):
        found.add(f"{prefix}[]")
        for sub in tree:
            found |= paths(sub, f"{prefix}[]")
    return found


def check_golden(name: str, what: str, actual: Any) -> None:
    """Compare a pinned contract with tests/golden/<name>.json (or rewrite it under CLEARSITE_UPDATE_GOLDEN=1)."""
    path = GOLDEN / f"{name}.json"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"what": what, "contract": actual}, indent=2, sort_keys=True) + "\n")
    assert path.exists(), f"no golden file {path}; run with CLEARSITE_UPDATE_GOLDEN=1 to create it"
    expected = json.loads(path.read_text())["contract"]
    if expected != actual:
        old, new = paths(expected), paths(actual)
        pytest.fail(f"{what}: the contract pinned in {path.name} changed\n"
                    f"  keys removed: {sorted(old - new)}\n  keys added:   {sorted(new - old)}\n"
                    f"  (if intended, rewrite with CLEARSITE_UPDATE_GOLDEN=1 and say so in the change log)")


def test_shape_is_keys_only_and_merges_list_items() -> None:
    value = {"b": [{"x": 1, "y": None}, {"x": 2, "z": {"q": [1, 2]}}], "a": "text", "c": [], "d": None}
    assert shape(value) == {"a": None, "b": [{"x": None, "y?": None, "z?": {"q": []}}], "c": [], "d": None}
    assert shape([[{"k": 1}], []]) == [[{"k": None}]]
    assert paths(shape(value)) == {"a", "b", "b[]", "b[].x", "b[].y?", "b[].z?", "b[].z?.q", "b[].z?.q[]", "c",
                                   "c[]", "d"}


# --------------------------------------------------------------------------- the CLI

REGISTER = """\
Manufacturer,Part No,S/N,MAC Address,IP,Building,Install Date,Location,Notes
Hik-Vision Ltd,DS-2CD2143G2-I,DS-2CD2143G2-I20210315AAWRJ22681782,4C:BD:8F:00:3D:44,127.20.1.5,Example House,04/03/2021,car park north,dome
Axis,P3245-LVE,ACCC8E123456,AC:CC:8E:12:34:56,127.20.2.7,example  house,2023-01-05,lobby,"<script>alert(1)</script>"
,,,BC:AD:28:11:22:33,127.20.1.9,Example House,,,MAC only
=HYPERLINK("http://evil.example"),DS-7608NI-K2,,,,Example House,44256,"=cmd|' /C calc'!A0",=1+1
Hikvision,DS-2CD2143G2-I,,44:19:B6:0A:11:22,10.20.30.11,Survey Annex,2020-01-01,gate,
Dahua,IPC-HFW2431S-S-S2,4K049EBPAG1D7E7,3C:EF:8C:00:00:03,10.20.40.9,Survey Annex,2020-06-01,yard,
Hikvision,DS-2CD2143G2-I,,,,Nowhere House,,,
TOTAL,,,,,,,,
"""

PLAN = """\
start: 2026-11-30
time_limit: 5
milestones:
  - {date: 2026-12-04, target_share: 1.0, note: everything at once}
  - {date: 2027-03-31, target_share: 1.0}
crews:
  - {id: london-1, region: London, hours_per_week: 4}
rates:
  travel_hours: 1
  default: {hours: 1.0, removal: 80, replacement: 450, disposal: 15}
budgets: {"2026-27": 100000}
scenarios:
  more-crews: {extra_crews: [{region: London, count: 1, start: 2026-11-30}]}
"""

# One emulated fleet per xdist worker, so workers that both build the CLI world never share an address.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0) % 250
FLEET_BASE = f"127.83.{_WORKER}.1"
FLEET_PERSONAS = ["hikvision-camera", "dahua-camera", "lorex-camera", "axis-camera", "hostile-script-title"]

# golden name -> (the command path it pins, the arguments after `clearsite`)
CLI_CASES: dict[str, tuple[str, list[str]]] = {}


def _command_path(words: list[str]) -> str:
    """The longest run of leading words that names a command (`alerts destination list`, `alerts`, `site list`)."""
    command, path = typer.main.get_command(cli_app), []
    for word in words:
        command = getattr(command, "commands", {}).get(word)
        if command is None:
            break
        path.append(word)
    return " ".join(path)


def _case(name: str, *args: str) -> None:
    words = [a for a in args if not a.startswith("-")]
    CLI_CASES[name] = (_command_path(words), list(args))


_case("site-list", "site", "list", "--format", "json")
_case("import-register", "import", "register", "{tmp}/estates.csv", "--format", "json")
_case("import-nmap", "import", "nmap", "{tmp}/nmap_site_sv_os.xml", "--site", "Survey Annex", "--format", "json")
_case("import-masscan", "import", "masscan", "{tmp}/masscan_oJ.json", "--site", "Survey Annex", "--format", "json")
_case("import-switch", "import", "switch", "{tmp}/arp_windows.csv", "--site", "Survey Annex", "--format", "json")
_case("import-vms", "import", "vms", "{tmp}/onvif_device_information.csv", "--site", "Survey Annex", "--format",
      "json")
_case("scan", "scan", f"127.83.{_WORKER}.0/29", "--site", "Lab", "--timeout", "0.5", "--format", "json")
_case("identify", "identify", "--brand", "LTS", "--model", "LTN8708K-P8", "--mac", "AC:CC:8E:12:34:56",
      "--banner", "App-webs/", "--installed", "2021-01-01", "--as-of", AS_OF_CLI, "--format", "json")
_case("devices", "devices", "--as-of", AS_OF_CLI, "--format", "json")
_case("assess", "assess", "--as-of", AS_OF_CLI, "--format", "json")
_case("reconcile", "reconcile", "--site", "Survey Annex", "--format", "json")
_case("plan", "plan", "--plan-file", "{tmp}/plan.yaml", "--as-of", AS_OF_CLI, "--format", "json")
_case("plan-compare", "plan", "--plan-file", "{tmp}/plan.yaml", "--as-of", AS_OF_CLI, "--compare", "--format", "json")
_case("screen", "screen", "{tmp}/quote.csv", "--site", "Example House", "--as-of", AS_OF_CLI, "--format", "json")
_case("audit-verify", "audit", "verify", "--format", "json")
# Review decisions: one settled by hand, so the devices answer shows a decision beside the machine's verdict.
_case("review", "review", "3", "--nil-subject", "no", "--producer", "axis", "--make", "Axis", "--model", "P3245",
      "--reason", "seen on site", "--as-of", AS_OF_CLI, "--format", "json")
_case("review-history", "review", "3", "--history", "--format", "json")
# Alert delivery: destinations added before any alert is raised (each gets the alerts raised after it),
# then one attempt each with --attempts 1, so the webhook that refuses connections leaves a dead letter.
_case("alerts-destination-list", "alerts", "destination", "list", "--format", "json")
_case("alerts-dead-letters", "alerts", "dead-letters", "--format", "json")
# Proof of removal: orders from the plan, a removal with a replacement and a file, alerts (orders past due
# at --today raise some), the status report, and the devices again with their removal shown.
_case("orders-create", "orders", "create", "--format", "json")
_case("orders-list", "orders", "list", "--today", "2030-01-01", "--format", "json")
_case("orders-show", "orders", "show", "{order}", "--format", "json")
_case("removal-record", "removal", "record", "{device}", "--on", "2026-11-30", "--by", "Crew 1", "--disposal-ref", "W-1",
      "--cost", "95", "--replacement-brand", "Axis", "--replacement-model", "P3245-V", "--replacement-serial",
      "ACCC8E998877", "--replacement-mac", "AC:CC:8E:99:88:77", "--attach", "{tmp}/plan.yaml", "--format", "json")
_case("alerts", "alerts", "--since", "2020-01-01", "--format", "json")
_case("status-report", "status-report", "--today", AS_OF_CLI, "--format", "json")
_case("devices-with-removal", "devices", "--as-of", AS_OF_CLI, "--format", "json")
_case("agent-status", "agent", "status", "--spool", "{tmp}/agent-spool", "--format", "json")
_case("agent-health", "agent", "health", "--format", "json")
_case("token-list", "token", "list", "--format", "json")
_case("user-list", "user", "list", "--format", "json")
_case("knowledge-import-designations", "knowledge", "import-designations", "{tmp}/csl_sample.csv", "--as-of", AS_OF_CLI,
      "--format", "json")
# OLD is the packaged data, NEW the same with the sensitive-site removal deadline moved: findings change.
_case("knowledge-diff", "knowledge", "diff", "{tmp}/knowledge-old", "{tmp}/knowledge-new", "--as-of", AS_OF_CLI,
      "--format", "json")
# JSON written to files rather than stdout; the manifest is what `clearsite sim --manifest` writes
# (Fleet.write_manifest), taken from the fleet the scan runs against rather than a second server.
FILE_CASES = {
    "report-json": ("report", "report/report.json"),
    "publish-public-progress": ("publish", "public/progress.json"),
    "publish-internal-sites": ("publish", "internal/sites.json"),
    "sim-manifest": ("sim", "fleet.json"),
}
ORDER = ["site-list", "import-register", "import-nmap", "import-masscan", "import-switch", "scan", "identify",
         "review", "review-history", "devices", "assess", "reconcile", "plan", "plan-compare", "orders-create", "orders-list", "orders-show",
         "removal-record", "devices-with-removal", "alerts", "status-report", "screen", "import-vms",
         "knowledge-import-designations", "knowledge-diff", "agent-status", "agent-health", "token-list", "user-list"]


def _fill(arg: str, tmp: Path, outputs: dict[str, Any]) -> str:
    """An argument with {tmp}, {order} (the first work order) and {device} (the first Hikvision device) filled in."""
    if "{order}" in arg:
        arg = arg.replace("{order}", str(outputs["orders-create"]["orders"][0]["id"]))
    if "{device}" in arg:
        device = next(d for d in outputs["devices"] if d["producer"] and d["producer"]["id"] == "hikvision" and d["id"])
        arg = arg.replace("{device}", str(device["id"]))
    return arg.replace("{tmp}", str(tmp))


def invoke(db: str, *args: str) -> str:
    result = CliRunner().invoke(cli_app, list(args), env={"CLEARSITE_DATABASE_URL": db})
    assert result.exit_code == 0, (f"clearsite {' '.join(args)} exited {result.exit_code}:\n{result.stderr}"
                                   f"\n{result.exception!r}")
    return result.stdout


def _agent_spool(directory: Path) -> None:
    """A site agent's spool as a run leaves it (the agent itself runs against a centre in tests/test_agent.py)."""
    from clearsite.services.agent_spool import open_agent_spool

    spool = open_agent_spool(directory, 1000)
    spool.add([{"ip": "127.83.0.9", "mac": None, "serial": None, "location": None, "observed_at": None,
                "evidence": []}])
    spool.put(site="Lab", server="https://centre.example", last_scan="2026-11-29T10:00:00+00:00",
              last_push="2026-11-29T10:00:05+00:00")
    spool.close()


@pytest.fixture(scope="module")
def cli_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One database driven through every JSON-speaking command once; golden name -> parsed JSON."""
    tmp = tmp_path_factory.mktemp("golden-cli")
    db = f"sqlite:///{tmp / 'clearsite.db'}"
    (tmp / "estates.csv").write_text(REGISTER)
    (tmp / "plan.yaml").write_text(PLAN)
    shutil.copy(DATA / "quotes" / "sample_quote.csv", tmp / "quote.csv")
    for name in ("nmap_site_sv_os.xml", "masscan_oJ.json", "arp_windows.csv"):
        shutil.copy(DATA / "scans" / name, tmp / name)
    shutil.copy(DATA / "vms" / "onvif_device_information.csv", tmp / "onvif_device_information.csv")
    shutil.copy(DATA / "designation_lists" / "csl_sample.csv", tmp / "csl_sample.csv")
    shutil.copytree(KNOWLEDGE_DATA, tmp / "knowledge-old")
    shutil.copytree(KNOWLEDGE_DATA, tmp / "knowledge-new")
    policies = tmp / "knowledge-new" / "policies.yaml"
    policies.write_text(policies.read_text().replace("      deadline: 2025-04-30\n", "      deadline: 2027-04-30\n", 1))
    invoke(db, "site", "add", "Example House", "--department", "Dept A", "--region", "London", "--holds-secret",
           "--network", "127.20.0.0/16", "--core-network", "127.20.1.0/24")
    invoke(db, "site", "add", "Survey Annex", "--department", "Dept A", "--region", "Wales", "--dv-hub",
           "--network", "10.20.0.0/16", "--network", "10.40.0.0/16")
    invoke(db, "site", "add", "Lab", "--department", "Dept B", "--region", "London", "--network", "127.83.0.0/16")
    for department in ("Dept A", "Dept B"):  # port 9 on loopback: nothing listens, the connection is refused
        invoke(db, "alerts", "destination", "add", "--department", department, "--webhook", "http://127.0.0.1:9/hook")
        invoke(db, "alerts", "destination", "add", "--department", department, "--syslog", "udp://127.0.0.1:9")
    invoke(db, "user", "add", "golden-agent", "--role", "agent", "--site", "Lab")
    invoke(db, "token", "create", "golden-agent", "--name", "lab-host", "--scope", "push")
    _agent_spool(tmp / "agent-spool")
    fleet = Fleet(len(FLEET_PERSONAS), seed=3, base=FLEET_BASE, personas=[BY_KEY[p] for p in FLEET_PERSONAS])
    fleet.write_manifest(tmp / "fleet.json")
    outputs: dict[str, Any] = {}
    # No brief delivery attempt as an import commits: a failed one is retried seconds later, so whether
    # `alerts deliver --once` below found it due (and left a dead letter) would depend on how fast the
    # commands ran. Every alert waits in the outbox for that one pass instead.
    with fleet.in_thread(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(delivery, "after_alerts_raised", lambda engine, clock=None: delivery.DeliveryPass())
        for name in ORDER:
            args = [_fill(a, tmp, outputs) for a in CLI_CASES[name][1]]
            outputs[name] = json.loads(invoke(db, *args))
    invoke(db, "report", "--out", str(tmp / "report"), "--as-of", AS_OF_CLI)
    invoke(db, "publish", "--public", str(tmp / "public"), "--internal", str(tmp / "internal"), "--as-of", AS_OF_CLI)
    outputs["audit-verify"] = json.loads(invoke(db, *CLI_CASES["audit-verify"][1]))
    invoke(db, "alerts", "deliver", "--once", "--attempts", "1")
    for name in ("alerts-destination-list", "alerts-dead-letters"):
        outputs[name] = json.loads(invoke(db, *CLI_CASES[name][1]))
    for name, (_, file) in FILE_CASES.items():
        outputs[name] = json.loads((tmp / file).read_text())
    return outputs


@pytest.mark.network
@pytest.mark.parametrize("name", sorted([*CLI_CASES, *FILE_CASES]))
def test_cli_json_key_sets_are_pinned(cli_outputs: dict[str, Any], name: str) -> None:
    if name in CLI_CASES:
        what = "clearsite " + " ".join(a.replace("{tmp}/", "").replace(f"127.83.{_WORKER}.", "127.83.N.")
                                       for a in CLI_CASES[name][1])
    else:
        what = f"clearsite {FILE_CASES[name][0]}: {Path(FILE_CASES[name][1]).name}"
    check_golden(f"cli/{name}", what, shape(cli_outputs[name]))


@pytest.mark.network
def test_plan_and_reconcile_were_pinned_with_every_list_populated(cli_outputs: dict[str, Any]) -> None:
    plan = cli_outputs["plan"]
    for key in ("capacity", "visits", "milestones", "shortfalls", "unscheduled", "budget"):
        assert plan[key], f"plan {key} is empty: its item keys would not be pinned"
    reconciliation = cli_outputs["reconcile"]
    for key in ("matched", "seen_not_registered", "registered_not_seen"):
        assert reconciliation[key], f"reconcile {key} is empty: its item keys would not be pinned"


def _choices(param: Any) -> list[str]:
    """The values an option accepts, if it names them (Click keeps them on .type, newer Typer on .type_descriptor)."""
    for holder in (getattr(param, "type", None), getattr(param, "type_descriptor", None)):
        choices = getattr(holder, "choices", None)
        if choices:
            return sorted(str(getattr(c, "value", c)) for c in choices)
    return []


def _command_tree() -> dict[str, Any]:
    """Command path -> its options and arguments, from the Click command Typer builds."""
    tree: dict[str, Any] = {}

    def walk(command: Any, path: list[str]) -> None:
        options = sorted(o for p in command.params if p.param_type_name == "option"
                         for o in [*p.opts, *p.secondary_opts])
        arguments = [p.name for p in command.params if p.param_type_name == "argument"]
        fmt = next((p for p in command.params if "--format" in getattr(p, "opts", ())), None)
        choices = _choices(fmt) if fmt else None
        tree[" ".join(path)] = {"options": options, "arguments": arguments, "format_choices": choices}
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(typer.main.get_command(cli_app), ["clearsite"])
    return tree


def test_the_command_tree_and_its_options_are_pinned() -> None:
    """Every command path, option name and --format choice: what scripts type."""
    tree = _command_tree()
    if UPDATE:
        path = GOLDEN / "cli" / "command-tree.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(tree, indent=2, sort_keys=True) + "\n")
    assert json.loads((GOLDEN / "cli" / "command-tree.json").read_text()) == tree


def test_every_command_that_speaks_json_has_a_pinned_contract() -> None:
    speaks_json = set()
    for path, entry in _command_tree().items():
        # a --format with choices that include json, or a free-text --format (audit verify takes "table or json")
        if "--format" in entry["options"] and (not entry["format_choices"] or "json" in entry["format_choices"]):
            speaks_json.add(path.removeprefix("clearsite "))
    assert speaks_json, "no command with --format json found"
    pinned = {command for command, _ in CLI_CASES.values()}
    assert speaks_json <= pinned, f"commands with --format json but no golden contract: {sorted(speaks_json - pinned)}"


# --------------------------------------------------------------------------- the web API

# golden name -> (method, OpenAPI path, user whose token is sent)
API_CASES: dict[str, tuple[str, str, str]] = {
    "get-me": ("GET", "/api/v1/me", "admin"),
    "post-sign-out-everywhere": ("POST", "/api/v1/me/sign-out-everywhere", "audrey"),
    "get-sites": ("GET", "/api/v1/sites", "admin"),
    "post-sites": ("POST", "/api/v1/sites", "admin"),
    "get-site": ("GET", "/api/v1/sites/{site_id}", "admin"),
    "patch-site": ("PATCH", "/api/v1/sites/{site_id}", "admin"),
    "get-reconciliation": ("GET", "/api/v1/sites/{site_id}/reconciliation", "alice"),
    "get-reconciliation-nothing-seen": ("GET", "/api/v1/sites/{site_id}/reconciliation", "alice"),
    "post-observations": ("POST", "/api/v1/sites/{site_id}/observations", "agent-alpha"),
    "get-devices": ("GET", "/api/v1/devices", "admin"),
    "get-device": ("GET", "/api/v1/devices/{device_id}", "alice"),
    "post-decision": ("POST", "/api/v1/devices/{device_id}/decision", "alice"),
    "post-decisions": ("POST", "/api/v1/decisions", "admin"),
    "get-decisions": ("GET", "/api/v1/devices/{device_id}/decisions", "alice"),
    "get-review": ("GET", "/api/v1/review", "alice"),
    "post-removal": ("POST", "/api/v1/devices/{device_id}/removal", "alice"),
    "get-findings": ("GET", "/api/v1/findings", "admin"),
    "get-dashboard": ("GET", "/api/v1/dashboard", "admin"),
    "post-screen": ("POST", "/api/v1/screen", "alice"),
    "post-attestations": ("POST", "/api/v1/attestations", "alice"),
    "get-audit": ("GET", "/api/v1/audit", "audrey"),
    "get-audit-verify": ("GET", "/api/v1/audit/verify", "audrey"),
    "post-users": ("POST", "/api/v1/users", "admin"),
    "post-tokens": ("POST", "/api/v1/tokens", "admin"),
    "delete-token": ("DELETE", "/api/v1/tokens/{token_id}", "admin"),
    "post-alert-destinations": ("POST", "/api/v1/alert-destinations", "admin"),
    "get-alert-destinations": ("GET", "/api/v1/alert-destinations", "admin"),
    "delete-alert-destination": ("DELETE", "/api/v1/alert-destinations/{destination_id}", "admin"),
    "get-alert-dead-letters": ("GET", "/api/v1/alert-deliveries/dead", "admin"),
    "post-alert-redeliver": ("POST", "/api/v1/alert-deliveries/{delivery_id}/redeliver", "admin"),
    "get-agent-site": ("GET", "/api/v1/agent/site", "agent-alpha"),
    "post-agent-batches": ("POST", "/api/v1/agent/batches", "agent-alpha"),
    "post-agent-heartbeat": ("POST", "/api/v1/agent/heartbeat", "agent-alpha"),
    "post-agents-jobs": ("POST", "/api/v1/agents/jobs", "alice"),
    "post-agent-jobs-claim": ("POST", "/api/v1/agent/jobs/claim", "agent-alpha"),
    "post-agent-job-report": ("POST", "/api/v1/agent/jobs/{job_id}/report", "agent-alpha"),
    "get-agents": ("GET", "/api/v1/agents", "alice"),
    "post-orders": ("POST", "/api/v1/orders", "admin"),
    "get-orders": ("GET", "/api/v1/orders", "alice"),
    "get-order": ("GET", "/api/v1/orders/{order_id}", "alice"),
    "post-order-extensions": ("POST", "/api/v1/orders/{order_id}/extensions", "alice"),
    "post-extension-decision": ("POST", "/api/v1/extensions/{extension_id}/decision", "alice"),
    "post-removals": ("POST", "/api/v1/devices/{device_id}/removals", "alice"),
    "post-order-status": ("POST", "/api/v1/orders/{order_id}/status", "alice"),
    "get-alerts": ("GET", "/api/v1/alerts", "alice"),
    "get-status-report": ("GET", "/api/v1/status-report", "alice"),
    "get-evidence-packs": ("GET", "/api/v1/evidence-packs", "alice"),  # pinned: the zip's manifest.json
}
# OpenAPI also lists 400 "body is not valid JSON", but a malformed body answers 422 (json_invalid) today.
ERROR_CASES = ["401", "403", "404", "405", "409", "413", "422-body", "422-invalid-json", "422-query"]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, packaged_kb: Any, store_url_module: str
        ) -> Iterator[tuple[TestClient, World, Any]]:
    tmp = tmp_path_factory.mktemp("golden-api")
    engine = open_database(store_url_module)  # the same shapes on SQLite and on PostgreSQL
    world = build_world(engine, packaged_kb, tmp)
    with TestClient(create_app(engine, packaged_kb, Settings(as_of=AS_OF))) as client:
        yield client, world, engine
    engine.dispose()


@pytest.fixture(scope="module")
def api_answers(api: tuple[TestClient, World, Any]) -> dict[str, tuple[int, Any]]:
    """Every /api/v1 operation called once, in an order where each finds something; name -> (status, JSON)."""
    client, world, _ = api
    client.cookies.clear()
    hq, depot = world.sites["Alpha HQ"], world.sites["Alpha Depot"]
    answers: dict[str, tuple[int, Any]] = {}

    def call(name: str, concrete: str, body: Any = None, **params: Any) -> Any:
        method, _, user = API_CASES[name]
        answer = client.request(method, concrete, json=body, params=params or None,
                                headers={"Authorization": f"Bearer {world.tokens[user]}"})
        assert answer.status_code < 300, (name, answer.status_code, answer.text)
        answers[name] = (answer.status_code, answer.json() if answer.content else None)
        return answers[name][1]

    call("get-me", "/api/v1/me")
    new = call("post-sites", "/api/v1/sites", {"name": "Golden Annex", "department": DEPT_A, "region": "London",
                                               "holds_secret": True, "networks": [{"cidr": "10.50.0.0/16", "core": True}]})
    call("patch-site", f"/api/v1/sites/{new['id']}", {"region": "North", "dv_hub": True})
    call("post-observations", f"/api/v1/sites/{hq}/observations", {"observations": [
        {"id": "golden-1", "ip": "10.1.0.21", "mac": "C0:56:E3:00:00:21", "serial": "GOLDEN-1", "location": "roof",
         "observed_at": "2024-08-30T10:00:00Z",
         "evidence": [{"signal": "http_server", "value": "App-webs/", "source": "http://10.1.0.21/"}]}]})
    # only hosts inside the site: one outside refuses the whole push (422, nothing stored; tests/test_web.py)
    call("get-sites", "/api/v1/sites")
    call("get-site", f"/api/v1/sites/{hq}")
    call("get-reconciliation", f"/api/v1/sites/{hq}/reconciliation")
    call("get-reconciliation-nothing-seen", f"/api/v1/sites/{depot}/reconciliation")
    call("post-decision", "/api/v1/devices/1/decision", {"nil_subject": "yes", "reason": "golden: checked on site"})
    call("post-decisions", "/api/v1/decisions", {"device_ids": [4], "nil_subject": "review", "producer": "axis",
                                                 "make": "Axis", "model": "P3245", "reason": "golden: survey booked"})
    call("get-decisions", "/api/v1/devices/1/decisions")
    call("get-review", "/api/v1/review")
    call("get-devices", "/api/v1/devices")
    call("get-device", "/api/v1/devices/1")
    call("get-findings", "/api/v1/findings")
    call("get-dashboard", "/api/v1/dashboard")
    call("post-screen", "/api/v1/screen", {"site_id": hq, "on": "2024-09-01", "lines": [
        {"supplier": "Acme Security", "brand": "HiLook", "model": "IPC-B140H", "quantity": 4},
        {"supplier": "Acme Security", "brand": "Axis", "model": "P3245-LVE", "sku": "AXI-01592-001", "quantity": 2},
        {"supplier": "Acme Security", "brand": "Zzzz", "model": "Q1", "description": "camera", "quantity": 1,
         "connects_to_core": True}]})
    call("post-attestations", "/api/v1/attestations", {"supplier": "Acme Security", "statement": "does not provide covered equipment",
                                                       "signed": "2024-01-01", "expires": "2025-01-01",
                                                       "source": "letter.pdf"})
    call("post-removal", "/api/v1/devices/3/removal", {"removed_on": "2024-08-30"})
    call("post-users", "/api/v1/users", {"username": "golden-officer", "password": PASSWORD, "role": "officer",
                                         "department": DEPT_A})
    token = call("post-tokens", "/api/v1/tokens", {"username": "golden-officer", "name": "golden", "scopes": ["read"],
                                                   "days": 7})
    call("delete-token", f"/api/v1/tokens/{token['id']}")
    call("get-agent-site", "/api/v1/agent/site", site="Alpha HQ")
    call("post-agent-batches", "/api/v1/agent/batches", {"site": "Alpha HQ", "key": "golden-batch-1", "observations": [
        {"id": "golden-agent-1", "ip": "10.1.0.22", "evidence": [{"signal": "port", "value": "554/tcp"}]}]})
    call("post-agent-heartbeat", "/api/v1/agent/heartbeat", {"site": "Alpha HQ", "host": "hq-agent", "version": "0.1",
                                                            "spooled": 0, "last_scan": "2024-08-30T10:00:00Z"})
    job = call("post-agents-jobs", "/api/v1/agents/jobs", {"site_id": hq, "targets": []})
    call("post-agent-jobs-claim", "/api/v1/agent/jobs/claim")
    call("post-agent-job-report", f"/api/v1/agent/jobs/{job['id']}/report",
         {"ok": True, "outcome": {"targets": 1, "responded": 1}})
    call("get-agents", "/api/v1/agents")
    _alert_delivery_answers(call, api[2], hq)
    _removal_answers(call, client, world, answers, api[2])
    call("post-sign-out-everywhere", "/api/v1/me/sign-out-everywhere")
    call("get-audit", "/api/v1/audit")
    call("get-audit-verify", "/api/v1/audit/verify")
    return answers


def _alert_delivery_answers(call: Any, engine: Any, site_id: int) -> None:
    """A webhook nobody answers (port 9 on loopback), an alert raised after it, one attempt: a dead letter."""
    from clearsite.services.alerts import raise_alert
    from clearsite.services.delivery import DeliverySettings, deliver_due
    from clearsite.store.transactions import write_transaction

    added = call("post-alert-destinations", "/api/v1/alert-destinations",
                 {"department": DEPT_A, "webhook": "http://127.0.0.1:9/hook", "secret": "golden secret, 16+ chars"})
    call("get-alert-destinations", "/api/v1/alert-destinations")
    with write_transaction(engine) as conn:
        raise_alert(conn, kind="contradicted", site_id=site_id, device_id=1, detail="golden: seen again")
    deliver_due(engine, settings=DeliverySettings(max_attempts=1, timeout=5))
    dead = call("get-alert-dead-letters", "/api/v1/alert-deliveries/dead")
    call("post-alert-redeliver", f"/api/v1/alert-deliveries/{dead[0]['id']}/redeliver")
    call("delete-alert-destination", f"/api/v1/alert-destinations/{added['id']}")


def _removal_answers(call: Any, client: TestClient, world: World, answers: dict[str, tuple[int, Any]],
                     engine: Any) -> None:
    """Orders from a plan, an extension granted, a removal with its evidence uploaded, alerts, the status report."""
    from clearsite.formats.planfile import parse_plan_file
    from clearsite.services.knowledge import load_knowledge
    from clearsite.services.planning import plan_removals

    plan_removals(engine, load_knowledge(), parse_plan_file(
        "start: 2024-09-02\ntime_limit: 5\ncrews:\n  - {id: london-1, region: London, hours_per_week: 30}\n"
        "  - {id: wales-1, region: Wales, hours_per_week: 30}\nrates:\n  travel_hours: 1\n"
        "  default: {hours: 1.0, removal: 80, replacement: 450, disposal: 15}\nbudgets: {\"2024-25\": 100000}\n"), AS_OF)
    call("post-orders", "/api/v1/orders")
    order = call("get-orders", "/api/v1/orders")[0]
    call("get-order", f"/api/v1/orders/{order['id']}")
    asked = call("post-order-extensions", f"/api/v1/orders/{order['id']}/extensions",
                 {"new_due": "2024-12-20", "reason": "golden: parts back-ordered"})
    call("post-extension-decision", f"/api/v1/extensions/{asked['extensions'][0]['id']}/decision", {"approve": True})
    upload = client.post(f"/api/v1/devices/{order['devices'][0]}/removals",
                         headers={"Authorization": f"Bearer {world.tokens['alice']}"},
                         data={"removed_on": "2024-08-30", "order_id": str(order["id"]), "removed_by": "Crew 1",
                               "disposal_ref": "WEEE-1", "cost": "99", "replacement_brand": "Axis",
                               "replacement_model": "P3245-V", "replacement_mac": "AC:CC:8E:00:00:99"},
                         files=[("files", ("certificate.pdf", b"%PDF-1.4 golden", "application/pdf"))])
    assert upload.status_code == 201, upload.text
    answers["post-removals"] = (upload.status_code, upload.json())
    call("post-order-status", f"/api/v1/orders/{order['id']}/status", {"status": "in_progress"})
    call("get-alerts", "/api/v1/alerts")
    call("get-status-report", "/api/v1/status-report")
    answers["get-evidence-packs"] = _evidence_pack_manifest(client, world, engine)


def _evidence_pack_manifest(client: TestClient, world: World, engine: Any) -> tuple[int, Any]:
    """The zip's manifest.json stands for the download's shape (the rest of the zip is files)."""
    import io
    import tempfile
    import zipfile

    from clearsite.services.department_keys import create_key

    create_key(engine, "admin", DEPT_A, Path(tempfile.mkdtemp(prefix="golden-keys-")) / "alpha.pem")
    answer = client.get("/api/v1/evidence-packs", params={"department": DEPT_A},  # the claim uploaded above
                        headers={"Authorization": f"Bearer {world.tokens[API_CASES['get-evidence-packs'][2]]}"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip", answer.text
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        name = next(n for n in archive.namelist() if n.endswith("/manifest.json"))
        return answer.status_code, json.loads(archive.read(name))


@pytest.mark.parametrize("name", sorted(API_CASES))
def test_api_json_key_sets_are_pinned(api_answers: dict[str, tuple[int, Any]], name: str) -> None:
    method, path, user = API_CASES[name]
    status, body = api_answers[name]
    check_golden(f"api/{name}", f"{method} {path} as {user}", {"status": status, "shape": shape(body)})


@pytest.fixture(scope="module")
def api_errors(api: tuple[TestClient, World, Any]) -> dict[str, tuple[int, Any]]:
    client, world, _ = api
    client.cookies.clear()
    admin = {"Authorization": f"Bearer {world.tokens['admin']}"}
    auditor = {"Authorization": f"Bearer {world.tokens['audrey']}"}
    answers = {
        "422-invalid-json": client.post("/api/v1/sites", content=b"{not json", headers={**admin, "content-type": "application/json"}),
        "401": client.get("/api/v1/me"),
        "403": client.post("/api/v1/sites", json={"name": "Not Allowed"}, headers=auditor),
        "404": client.get("/api/v1/devices/999999", headers=admin),
        "405": client.put("/api/v1/me", headers=admin),
        "409": client.post("/api/v1/sites", json={"name": "Alpha HQ", "department": DEPT_A}, headers=admin),
        "413": client.post("/api/v1/sites", content=b" " * (8 * 1024 * 1024 + 1),
                           headers={**admin, "content-type": "application/json"}),
        "422-body": client.post("/api/v1/sites", json={"region": 7, "extra": True}, headers=admin),
        "422-query": client.get("/api/v1/devices?sitee=1", headers=admin),
    }
    return {name: (a.status_code, a.json()) for name, a in answers.items()}


@pytest.mark.parametrize("name", ERROR_CASES)
def test_api_error_bodies_are_pinned(api_errors: dict[str, tuple[int, Any]], name: str) -> None:
    status, body = api_errors[name]
    assert status == int(name[:3])
    check_golden(f"api/error-{name}", f"/api/v1 error answer {name}", {"status": status, "shape": shape(body)})


def _operations(spec: dict[str, Any]) -> dict[str, Any]:
    """(METHOD path) -> parameter names, request body schema, response codes; plus each schema's properties."""
    def ref(content: dict[str, Any] | None) -> str | None:
        schema = ((content or {}).get("application/json") or {}).get("schema") or {}
        return schema.get("$ref", "").rsplit("/", 1)[-1] or (schema.get("type") if schema else None)

    operations = {
        f"{method.upper()} {path}": {
            "parameters": sorted(f"{p['in']}:{p['name']}" for p in op.get("parameters", [])),
            "request_body": ref((op.get("requestBody") or {}).get("content")),
            "responses": sorted(op.get("responses", {})),
        }
        for path, ops in spec["paths"].items() for method, op in ops.items()
    }
    schemas = {name: sorted(s.get("properties", {})) for name, s in spec.get("components", {}).get("schemas", {}).items()}
    return {"operations": operations, "schemas": schemas}


def test_the_openapi_operations_and_schemas_are_pinned(api: tuple[TestClient, World, Any]) -> None:
    client, _, _ = api
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    check_golden("api/openapi", "GET /api/v1/openapi.json: operations and schema properties",
                 _operations(answer.json()))


def test_every_openapi_operation_has_a_pinned_answer(api: tuple[TestClient, World, Any]) -> None:
    client, _, _ = api
    spec = client.get("/api/v1/openapi.json").json()
    published = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    pinned = {(method, path) for method, path, _ in API_CASES.values()}
    assert published == pinned, (f"not pinned: {sorted(published - pinned)}; "
                                 f"pinned but gone: {sorted(pinned - published)}")


def test_no_golden_file_is_left_without_a_test() -> None:
    expected = {f"cli/{n}.json" for n in [*CLI_CASES, *FILE_CASES, "command-tree"]}
    expected |= {f"api/{n}.json" for n in [*API_CASES, "openapi"]} | {f"api/error-{n}.json" for n in ERROR_CASES}
    present = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*.json")}
    assert present == expected, f"stale: {sorted(present - expected)}; missing: {sorted(expected - present)}"


DEVICE_KEYS = {"id", "site", "ip", "mac", "serial", "label_brand", "model", "device_class", "producer", "nil_subject",
               "nil_basis", "nil_reasons", "confidence", "contradictions", "location", "install_date", "evidence",
               "removal", "decision", "machine_verdict", "review_pending"}


@pytest.mark.parametrize(("name", "extra"), [
    ("cli/devices", set()), ("cli/identify", set()), ("api/get-devices", set()),
    ("api/get-device", {"removed_on", "observations", "findings"}),
])
def test_the_pinned_device_records_are_fully_populated(name: str, extra: set[str]) -> None:
    """The golden device shape has all 21 fields, with producer and evidence pinned as objects, not null."""
    contract = json.loads((GOLDEN / f"{name}.json").read_text())["contract"]
    contract = contract["shape"] if name.startswith("api/") else contract
    device = contract[0] if isinstance(contract, list) else contract
    assert len(DEVICE_KEYS) == 21 and set(device) == DEVICE_KEYS | extra
    assert device["producer"] == {"id": None, "name": None, "country": None}
    assert device["evidence"] == [{"signal": None, "value": None, "source": None, "supports": None, "weight": None,
                                   "note": None}]
