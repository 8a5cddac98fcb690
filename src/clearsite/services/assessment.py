"""Assessment: findings for devices under the policies, stored; and the rule an intake follows.

`assess_all` assesses the whole estate at a date and replaces the findings of those policies.
`reassess_touched` is what every intake (register import, scanner file, live scan, agent push)
does after storing observations; its docstring states the rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Engine

from clearsite.core.assess import Assessment, Outcome
from clearsite.core.errors import InputError
from clearsite.core.knowledge import Knowledge
from clearsite.core.knowledge.schema import Policy
from clearsite.core.models import DeviceFacts, Finding, Site, Status
from clearsite.formats.outputs import output_set
from clearsite.services.devices import device_json, iter_devices
from clearsite.services.identification import identities_current
from clearsite.services.parallel import can_fork, fork_safe, forked, worker_count
from clearsite.store import audit
from clearsite.store.bulk import bulk_work, constant, dumps
from clearsite.store.devices import now
from clearsite.store.findings import (
    OutcomeKey,
    add_findings,
    add_outcomes,
    assessed_as_of,
    clear_policies,
    device_id_range,
    device_policies,
    last_estate_assessment,
    new_outcome_ids,
    outcome_ids,
    refresh_statistics,
    remove_device_findings,
)
from clearsite.store.findings import stored_findings as stored_finding_rows
from clearsite.store.reads import EVERYTHING, DeviceView, read_devices
from clearsite.store.sites import load_sites
from clearsite.store.transactions import write_transaction

__all__ = ["PARALLEL_FROM_DEVICES", "UnknownPolicy", "assess_all", "assessed_dates", "iter_findings", "policies_for",
           "reassess_touched", "stored_findings", "write_report"]


class UnknownPolicy(InputError, ValueError):
    """A policy id the knowledge does not define."""


def policies_for(knowledge: Knowledge, policy_id: str | None, jurisdiction: str) -> list[Policy]:
    """The named policy, or every policy of a department's jurisdiction."""
    if policy_id:
        if policy_id not in knowledge.policies:
            raise UnknownPolicy(f"unknown policy {policy_id!r} (known: {', '.join(sorted(knowledge.policies))})")
        return [knowledge.policies[policy_id]]
    return [p for p in knowledge.policies.values() if p.jurisdiction == jurisdiction]


def iter_findings(engine: Engine, knowledge: Knowledge, as_of: date, policy_id: str | None = None,
                  conn: Connection | None = None, *, reuse: bool = True) -> Iterator[Finding]:
    """Assess every device under the named policy, or under its department's jurisdiction's policies.

    With `reuse`, the stored findings are read instead when they are that very answer (see
    `_stored_findings_stand`): `plan` and `publish` then cost a read, not a whole-estate assessment.
    """
    if conn is None:  # not inside a caller's transaction: identities worked out under other knowledge are redone
        identities_current(engine, knowledge)
    if reuse:
        with ExitStack() as held:
            reader = conn if conn is not None else held.enter_context(engine.connect())
            if _stored_findings_stand(reader, knowledge, as_of, policy_id):
                yield from _stored_as_found(reader, knowledge, policy_id)
                return
    assessor = _Assessor(knowledge, as_of, policy_id)
    for view, site in iter_devices(engine, with_evidence=False, conn=conn):
        for policy, outcomes in assessor(view, site):
            for o in outcomes:
                yield Finding(view.id, site.name, policy, o.obligation, o.status, o.due, o.reasons)


ESTATE_ASSESSMENT = ("findings.assess", "findings")  # the audit action and target of assess_all
# Audited actions that change nothing an assessment reads (identities, people's decisions, sites, addresses,
# install and removal dates, knowledge). Anything else audited after the last whole-estate assessment, known
# here or not (an intake, a decision, a site's sensitivity changed), and its findings are not reused.
_UNCHANGING_ACTIONS = ("user.", "token.", "plan.", "evidence_pack.", "alert_destination.", "alert_delivery.",
                       "department_key.", "agent.")


def _stored_findings_stand(conn: Connection, knowledge: Knowledge, as_of: date, policy_id: str | None) -> bool:
    """Are the stored findings what assessing every device now would give?

    Yes when the last whole-estate assessment covered exactly these policies (all of them, or the one
    named), at this date, with this knowledge version, and nothing audited since could have changed
    what it read: the engine is pure, so the same inputs give the same findings.
    """
    last = last_estate_assessment(conn, *ESTATE_ASSESSMENT)
    if last is None:
        return False
    recorded, since = last
    policies = [policy_id] if policy_id else list(knowledge.policies)
    return (recorded.get("as_of") == as_of.isoformat() and recorded.get("knowledge_version") == knowledge.version
            and recorded.get("policies") == policies
            and all(action.startswith(_UNCHANGING_ACTIONS) for action in since))


def _stored_as_found(conn: Connection, knowledge: Knowledge, policy_id: str | None) -> Iterator[Finding]:
    """The stored findings as iter_findings yields them: in device order, each device's in policy order as
    the knowledge lists them (obligation order within a policy: the order they were stored in)."""
    rank = {policy: position for position, policy in enumerate(knowledge.policies)}
    statuses = {status.value: status for status in Status}
    device: list[Finding] = []
    for row in stored_finding_rows(conn, policy_id):
        if device and device[0].device_id != row.device_id:
            device.sort(key=lambda f: rank[f.policy])  # stable: obligations keep their order
            yield from device
            device = []
        reasons = orjson.loads(row.reasons) if isinstance(row.reasons, str) else row.reasons
        device.append(Finding(row.device_id, row.name, row.policy, row.obligation, statuses[row.status],
                              _as_date(row.due), tuple(reasons)))
    device.sort(key=lambda f: rank[f.policy])
    yield from device


def _as_date(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


class _Assessor:
    """A device's outcomes under the named policy, or under each policy of its site's jurisdiction.

    The Assessment memos are shared across the whole estate: a few thousand outcome objects serve a
    million devices, and the same outcome is the same object.
    """

    def __init__(self, knowledge: Knowledge, as_of: date, policy_id: str | None) -> None:
        self.knowledge, self.as_of, self.policy_id = knowledge, as_of, policy_id
        self._by_jurisdiction: dict[str, list[Assessment]] = {}

    def __call__(self, view: DeviceView, site: Site) -> Iterator[tuple[str, list[Outcome]]]:
        chosen = self._by_jurisdiction.get(site.jurisdiction)
        if chosen is None:
            chosen = self._by_jurisdiction[site.jurisdiction] = [
                Assessment(p, self.knowledge, self.as_of)
                for p in policies_for(self.knowledge, self.policy_id, site.jurisdiction)]
        facts = DeviceFacts(view.id, site, view.identity, view.ip, view.install_date, view.removed_on)
        for assessment in chosen:
            yield assessment.policy.id, assessment.outcomes(facts)


PAGE = 20_000  # device ids per unit of assessment work
PARALLEL_FROM_DEVICES = 20_000  # fewer are assessed in this process: starting workers costs more

# An outcome as stored: policy, obligation, status, due, reasons (JSON text).
_StoredOutcome = tuple[str, str, str, "date | None", str]
# One page of assessed devices: the outcomes its producer had not sent before (numbered on from the
# last), then one entry per finding in device order: the device id, and the number of its outcome.
_AssessedPage = tuple[list[_StoredOutcome], list[int], list[int]]


@dataclass(frozen=True)
class _AssessJob:
    """What assessing pages of devices needs; forked workers inherit it."""

    knowledge: Knowledge
    as_of: date
    policy_id: str | None
    pages: list[range]  # device ids, one unit of work each


def _assessed_pages(job: _AssessJob, conn: Connection, part: int, parts: int) -> Iterator[_AssessedPage]:
    """Pages part, part + parts, … of the job, assessed (one worker's share, or all of it when parts is 1)."""
    sites = load_sites(conn)
    assess = _Assessor(job.knowledge, job.as_of, job.policy_id)
    numbers: dict[int, int] = {}  # id(outcome) -> its number; the memos keep the outcomes (and so their ids) alive
    for page in job.pages[part::parts]:
        fresh: list[_StoredOutcome] = []
        devices: list[int] = []
        outcome_numbers: list[int] = []
        for view, site in read_devices(conn, EVERYTHING, with_evidence=False, ids=page, sites=sites):
            for policy, outcomes in assess(view, site):
                for o in outcomes:
                    number = numbers.get(id(o))
                    if number is None:
                        number = numbers[id(o)] = len(numbers)
                        fresh.append((policy, o.obligation, o.status.value, o.due, dumps(list(o.reasons))))
                    devices.append(view.id)
                    outcome_numbers.append(number)
        yield fresh, devices, outcome_numbers


def _assessed_in_worker(engine: Engine, job: _AssessJob, part: int, parts: int) -> Iterator[_AssessedPage]:
    engine.dispose(close=False)  # the parent's pooled connections are not this process's to use
    with engine.connect() as conn:
        yield from _assessed_pages(job, conn, part, parts)


def assess_all(engine: Engine, knowledge: Knowledge, as_of: date, policy_id: str | None = None,
               actor: str = "cli", *, parallel_from: int = PARALLEL_FROM_DEVICES,
               workers: int | None = None) -> Counter[tuple[str, str, str]]:
    """Assess and store findings (replacing earlier ones of the same policies); counts by policy, obligation, status.

    Estates of `parallel_from` devices or more are read and assessed by forked workers (`workers`,
    default one per CPU), page by page; this process stores their findings in device order, in one
    transaction.
    """
    if policy_id:
        policies_for(knowledge, policy_id, "")  # refuse an unknown policy before touching anything
    identities_current(engine, knowledge, actor)  # devices identified under other knowledge first
    with engine.connect() as conn:
        low, high = device_id_range(conn)
    pages = [] if low is None or high is None else [range(start, min(start + PAGE, high + 1))
                                                     for start in range(low, high + 1, PAGE)]
    span = 0 if low is None or high is None else high - low + 1  # device ids to cover
    job = _AssessJob(knowledge, as_of, policy_id, pages)
    count = workers or worker_count()
    stamp: datetime = now()
    ids = [policy_id] if policy_id else list(knowledge.policies)
    with ExitStack() as workers_running:
        assessed: Iterator[_AssessedPage] | None = None
        if count > 1 and can_fork() and pages and span >= parallel_from and fork_safe(engine):
            engine.dispose()  # closes the idle pooled connections: see parallel.fork_safe
            assessed = workers_running.enter_context(forked(partial(_assessed_in_worker, engine, job), count,
                                                            lambda exc: RuntimeError(f"assessment: {exc}")))
        with write_transaction(engine) as conn, bulk_work(conn):
            parts = count if assessed is not None else 1
            if assessed is None:
                assessed = _assessed_pages(job, conn, 0, 1)
            clear_policies(conn, ids)
            stored: dict[_StoredOutcome, int] = {}  # each distinct outcome once, whichever worker found it
            constants = (constant(conn, as_of), constant(conn, stamp))
            # Per worker: the stored id of each outcome it numbered, and how often each was found.
            outcome_ids: list[list[int]] = [[] for _ in range(parts)]
            found: list[Counter[int]] = [Counter() for _ in range(parts)]
            for position, (fresh, devices, numbers) in enumerate(assessed):
                part = position % parts
                new = [o for o in dict.fromkeys(fresh) if o not in stored]
                for outcome, outcome_id in zip(new, new_outcome_ids(conn, len(new)), strict=True):
                    stored[outcome] = outcome_id
                add_outcomes(conn, [(stored[o], *o, *constants) for o in new])
                outcome_ids[part].extend(stored[o] for o in fresh)
                known = outcome_ids[part]
                add_findings(conn, [(device, known[n]) for device, n in zip(devices, numbers, strict=True)])
                found[part].update(numbers)
            audit.record(conn, actor, *ESTATE_ASSESSMENT, None,
                         {"as_of": as_of.isoformat(), "policies": ids, "knowledge_version": knowledge.version,
                          "findings": sum(sum(c.values()) for c in found)})
            refresh_statistics(conn, ["findings", "outcomes"])
    labels = {outcome_id: outcome[:3] for outcome, outcome_id in stored.items()}
    counts: Counter[tuple[str, str, str]] = Counter()
    for part_ids, part_found in zip(outcome_ids, found, strict=True):
        for number, n in part_found.items():
            counts[labels[part_ids[number]]] += n
    return counts


def stored_findings(engine: Engine, policy_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Findings as last stored, in device order (the `clearsite assess` JSON contract)."""
    with engine.connect() as conn:
        for row in stored_finding_rows(conn, policy_id):
            yield {"device_id": row.device_id, "site": row.name, "policy": row.policy, "obligation": row.obligation,
                   "status": row.status, "due": row.due.isoformat() if row.due else None, "reasons": row.reasons}


def assessed_dates(conn: Connection, knowledge: Knowledge) -> dict[str, date]:
    """Each known policy with stored findings, and the date they were assessed at (empty: nothing assessed)."""
    return {policy: as_of for policy, as_of in assessed_as_of(conn).items() if policy in knowledge.policies}


def reassess_touched(conn: Connection, knowledge: Knowledge, device_ids: Iterable[int], actor: str,
                     target: str, assessed: dict[str, date] | None = None) -> int:
    """Re-assess the devices an intake touched, at the date their findings were assessed at; the findings made.

    The rule every intake follows (register import, scanner file, live scan, agent push alike):
    new evidence never leaves a device's stored findings out of date, and never moves their date.
    Each touched device is assessed again under every policy with stored findings that applies to it
    (its site's jurisdiction's policies, and any other policy it already has findings of), at the
    `as_of` that policy's findings were last assessed at, so an earlier `assess --as-of D` stays an
    assessment at D. When nothing has been assessed yet, nothing is: `clearsite assess` makes the
    first findings. The re-assessment is audited as `findings.assess` with the intake's target, in
    the intake's own transaction. `assessed` is assessed_dates(), when the caller has it already.
    """
    if assessed is None:
        assessed = assessed_dates(conn, knowledge)
    ids = sorted(set(device_ids))
    if not assessed or not ids:
        return 0
    earlier = device_policies(conn, ids)
    remove_device_findings(conn, ids, list(assessed))
    known = outcome_ids(conn, assessed)
    assessments = {policy: Assessment(knowledge.policies[policy], knowledge, as_of) for policy, as_of in assessed.items()}
    found: list[tuple[int, OutcomeKey]] = []
    keys: dict[int, OutcomeKey] = {}  # id(outcome) -> its key; the Assessment memos keep the outcomes alive
    for view, site in _views_of(conn, ids):
        facts = DeviceFacts(view.id, site, view.identity, view.ip, view.install_date, view.removed_on)
        applies = {p for p in assessed if knowledge.policies[p].jurisdiction == site.jurisdiction}
        for policy in sorted(applies | (earlier.get(view.id, set()) & assessed.keys())):
            for o in assessments[policy].outcomes(facts):
                key = keys.get(id(o))
                if key is None:
                    key = keys[id(o)] = (policy, o.obligation, o.status.value, o.due, dumps(list(o.reasons)),
                                         assessed[policy])
                found.append((view.id, key))
    new = [key for key in dict.fromkeys(key for _, key in found) if key not in known]
    stamp = constant(conn, now())
    for key, outcome_id in zip(new, new_outcome_ids(conn, len(new)), strict=True):
        known[key] = outcome_id
    add_outcomes(conn, [(known[key], *key[:5], constant(conn, key[5]), stamp) for key in new])
    add_findings(conn, [(device_id, known[key]) for device_id, key in found])
    for as_of in sorted(set(assessed.values())):
        policies = sorted(p for p, d in assessed.items() if d == as_of)
        audit.record(conn, actor, "findings.assess", target, None,
                     {"as_of": as_of.isoformat(), "policies": policies,
                      "findings": sum(1 for _, key in found if key[5] == as_of)})
    return len(found)


def _views_of(conn: Connection, ids: list[int]) -> Iterator[tuple[DeviceView, Site]]:
    """The devices with these (sorted) ids, read a run of nearby ids at a time."""
    wanted = set(ids)
    sites = load_sites(conn)
    start = previous = ids[0]
    for device_id in [*ids[1:], None]:
        if device_id is not None and device_id - previous <= _NEARBY_IDS and device_id - start < PAGE:
            previous = device_id
            continue
        for view, site in read_devices(conn, EVERYTHING, with_evidence=False, ids=range(start, previous + 1),
                                       sites=sites):
            if view.id in wanted:
                yield view, site
        if device_id is not None:
            start = previous = device_id


_NEARBY_IDS = 64  # ids this close are read in one query (the few between them are read and passed over)


def write_report(engine: Engine, knowledge: Knowledge, out_dir: Path, as_of: date, policy_id: str | None = None):
    """Assess at `as_of` and write the internal findings report (HTML, CSV, XLSX, JSON) into out_dir.

    The folder and its file names are checked before the assessment runs, and the four files appear
    together or not at all (formats.outputs)."""
    from clearsite.render.report import REPORT_FILES
    from clearsite.render.report import write_report as render

    with output_set(out_dir, REPORT_FILES) as outputs:
        findings = [f.as_dict() for f in iter_findings(engine, knowledge, as_of, policy_id)]
        devices = [cast("dict[str, Any]", device_json(v, knowledge, as_of)) for v, _ in iter_devices(engine)]
        with engine.connect() as conn:
            sites = [{"name": s.name, "department": s.department, "region": s.region,
                      "criteria": list(s.sensitivity_criteria),
                      "networks": [{"cidr": n.cidr, "core": n.core} for n in s.networks]}
                     for _, s in sorted(load_sites(conn).items())]
        titles = {(p.id, o.id): o.title for p in knowledge.policies.values() for o in p.obligations}
        return render(outputs, devices, findings, sites, as_of, obligation_titles=titles)
