"""The shell's verbs — import, identify, assess, list — shared by the CLI, the web app and the agents.

Each takes an engine and plain arguments, runs the pure core, and stores the results in one
transaction (a failure leaves the database as it was).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select

from clearsite.core.errors import InputError
from clearsite.core.assess import Assessment, Outcome
from clearsite.core.identify import identify_template, register_row_evidence
from clearsite.core.knowledge import Knowledge
from clearsite.core.knowledge.schema import Policy
from clearsite.core.models import DeviceFacts, Finding, Site
from clearsite.services.parallel import can_fork, forked, worker_count
from clearsite.formats.register import RegisterError, RegisterRow, RowProblem, open_register, site_key
from clearsite.store.bulk import allocate_ids, bulk_work, constant, dumps, insert_rows
from clearsite.store.devices import (
    NewObservation,
    ObservationWriter,
    add_source,
    fingerprint,
    identity_values,
    now,
    write_identities,
)
from clearsite.store.reads import EVERYTHING, DeviceView, read_devices
from clearsite.store.sites import find_site, load_sites, site_ids_by_key
from clearsite.services.devices import device_json, iter_devices
from clearsite.store.tables import DeviceRow, FindingRow, OutcomeRow, SiteRow, SourceRow
from clearsite.store import audit


class ImportRefused(InputError, ValueError):
    """The whole file was refused (--strict, or nothing usable); nothing was stored."""


@dataclass
class ImportReport:
    file: str
    rows_read: int
    stored: int
    duplicates: int
    new_devices: int
    identified: int
    skipped: list[str] = field(default_factory=list)  # one line per junk row
    warnings: list[str] = field(default_factory=list)
    already_imported: bool = False


PARALLEL_FROM_ROWS = 20_000  # smaller registers are read in this process: starting workers costs more
_CHUNK_ROWS = 5_000  # file rows per unit of work handed between processes


def import_register(
    engine: Engine,
    path: Path,
    knowledge: Knowledge,
    *,
    site: str | None = None,
    mapping: dict[str, str] | None = None,
    strict: bool = False,
    actor: str = "cli",
    today: date | None = None,
    batch: int = 50_000,
    parallel_from: int = PARALLEL_FROM_ROWS,
    workers: int | None = None,
) -> ImportReport:
    """Import a CSV/XLSX asset register: junk rows are reported and skipped (or refuse all with strict).

    Rows stream through in batches (store, merge into devices, identify) inside one transaction, so
    a million-row register fits in memory and a failure anywhere leaves the database as it was.
    Registers of `parallel_from` lines or more are parsed and identified by forked worker processes
    (`workers`, default one per CPU); this process merges their rows in file order and writes them.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RegisterError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    name = path.name
    reader = open_register(data, name, mapping, site_given=site is not None, today=today)
    report = ImportReport(name, 0, 0, 0, 0, 0)
    with engine.begin() as conn, bulk_work(conn), ExitStack() as workers_running:
        fixed_site = find_site(conn, site) if site else None
        site_ids = site_ids_by_key(conn)
        source_id = add_source(conn, "register", name, hashlib.sha256(data).hexdigest(), actor, fixed_site,
                               {"columns": reader.columns, "header_row": reader.header_row})
        writer = ObservationWriter(conn, source_id)
        seen: dict[int, int] = {}
        pending: list[NewObservation] = []
        problems: list[RowProblem] = []

        def flush() -> None:
            result = writer.write(pending)
            report.stored += result.stored
            report.duplicates += result.duplicates
            report.new_devices += result.new_devices
            report.identified += write_identities(conn, knowledge, result)
            pending.clear()

        job = _RowJob(data, name, mapping, site is not None, today, fixed_site, site_ids, knowledge)
        count = workers or worker_count()
        if count > 1 and can_fork() and data.count(b"\n") >= parallel_from:
            # The workers never touch the database, so forking while this transaction is open is safe.
            chunks = workers_running.enter_context(forked(partial(_prepared_chunks, job), count, _unpicklable(job)))
        else:
            chunks = (_prepare_chunk(chunk, job) for chunk in reader.row_chunks(_CHUNK_ROWS))
        for chunk in chunks:
            for row_number, warnings, prepared in chunk:
                report.rows_read += 1
                if warnings is None:  # the row itself is junk
                    problems.append(prepared)
                else:
                    report.warnings.extend(f"{name}: row {row_number}: {w}" for w in warnings)
                    if isinstance(prepared, RowProblem):
                        problems.append(prepared)
                    else:
                        pending.append(_observation(row_number, prepared, seen))
                if strict and (problems or report.warnings):
                    first = problems[0].describe(name) if problems else report.warnings[0]
                    raise ImportRefused(f"{first} (--strict: nothing imported)")
                if len(pending) >= batch:
                    flush()
        if pending:
            flush()
        report.skipped = [p.describe(name) for p in problems]
        if report.stored + report.duplicates == 0:
            raise ImportRefused(f"{name}: no usable rows ({len(problems)} skipped); nothing imported")
        conn.execute(SourceRow.__table__.update().where(SourceRow.id == source_id).values(
            rows_read=report.rows_read, rows_stored=report.stored, rows_skipped=len(problems)))
        audit.record(conn, actor, "register.import", f"source:{source_id}", None,
                     {"file": name, "rows_read": report.rows_read, "stored": report.stored,
                      "new_devices": report.new_devices, "skipped": len(problems)})
    report.already_imported = report.stored == 0
    return report


@dataclass(frozen=True)
class _RowJob:
    """What preparing a register's rows needs; forked workers inherit it (the knowledge is never pickled)."""

    data: bytes
    name: str
    mapping: dict[str, str] | None
    site_given: bool
    today: date | None
    fixed_site: int | None
    site_ids: dict[str, int]
    knowledge: Knowledge


# A prepared row: (row number, its warnings or None when the row itself is junk, RowProblem or _Prepared).
# _Prepared is a flat tuple, cheap to send between processes:
# (site_id, first fingerprint, serial, mac, ip, install_date, location, data JSON, identity values).
_Prepared = tuple[int, str, "str | None", "str | None", "str | None", "date | None", "str | None", str,
                  tuple[Any, ...]]
_PreparedRow = tuple[int, "tuple[str, ...] | None", "RowProblem | _Prepared"]


def _prepare_chunk(items: list[RegisterRow | RowProblem], job: _RowJob) -> list[_PreparedRow]:
    """Parse-side work for a chunk of rows: site, fingerprint, stored JSON and the row's own identity."""
    chains: dict[int, tuple[Any, Any]] = {}  # identity values once per template in the chunk
    out: list[_PreparedRow] = []
    for item in items:
        if isinstance(item, RowProblem):
            out.append((item.row_number, None, item))
            continue
        out.append((item.row_number, item.warnings, _prepare_row(item, job, chains)))
    return out


def _prepare_row(row: RegisterRow, job: _RowJob, chains: dict[int, tuple[Any, Any]]) -> RowProblem | _Prepared:
    site_id = job.fixed_site
    if site_id is None:
        written = row.values.get("site", "")
        site_id = job.site_ids.get(site_key(written))
        if site_id is None:
            reason = f"unknown site {written!r}" if written else "no site given"
            return RowProblem(row.row_number, f"{reason}; skipped")
    fields = {k: v for k, v in row.values.items() if k != "site"}
    install = row.install_date
    evidence = register_row_evidence(f"{job.name} row {row.row_number}", fields)
    template = identify_template(evidence, job.knowledge, install)
    data = dumps({"fields": {**fields, "install_date": install.isoformat() if install else None},
                  "install_date": install, "source": evidence[0].source if evidence else f"row {row.row_number}"})
    return (site_id, fingerprint(site_id, "register_row", _row_content(fields, install), 0), fields.get("serial"),
            fields.get("mac"), fields.get("ip"), install, fields.get("location"), data,
            identity_values(template, chains))


def _row_content(fields: dict[str, Any], install: date | str | None) -> str:
    """What a register row's fingerprint covers (`install` as a date, or as the ISO text stored for it)."""
    return "\x1f".join([f"{k}={fields[k]}" for k in sorted(fields)]) + f"\x1f{install}"


def _observation(row_number: int, prepared: _Prepared, seen: dict[int, int]) -> NewObservation:
    """A prepared row as an observation; identical rows in one file are separate devices."""
    site_id, first, serial, mac, ip, install, location, data, identity = prepared
    # The n-th repeat of a row gets its own fingerprint. Repeats are counted on 64 bits of the first
    # fingerprint, not the row text, so a million rows cost little memory; a (vanishingly rare) clash
    # only numbers a row as a repeat, which is still unique and stable.
    repeat_key = int(first[:16], 16)
    occurrence = seen.get(repeat_key, 0)
    seen[repeat_key] = occurrence + 1
    if occurrence:
        fields = json.loads(data)["fields"]
        stored_install = fields.pop("install_date")
        first = fingerprint(site_id, "register_row", _row_content(fields, stored_install), occurrence)
    return NewObservation(site_id, "register_row", f"row {row_number}", {}, (), first, serial, mac, ip, install,
                          location, data, identity)


def _prepared_chunks(job: _RowJob, part: int, parts: int) -> Iterator[list[_PreparedRow]]:
    """Chunks part, part + parts, … of the register, prepared (the work of one forked worker)."""
    reader = open_register(job.data, job.name, job.mapping, site_given=job.site_given, today=job.today)
    for chunk in reader.row_chunks(_CHUNK_ROWS, part, parts):
        yield _prepare_chunk(chunk, job)


def _unpicklable(job: _RowJob) -> Callable[[BaseException], Exception]:
    return lambda exc: RegisterError(f"{job.name}: {type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- assessment


def policies_for(knowledge: Knowledge, policy_id: str | None, jurisdiction: str) -> list[Policy]:
    """The named policy, or every policy of a department's jurisdiction."""
    if policy_id:
        if policy_id not in knowledge.policies:
            raise ValueError(f"unknown policy {policy_id!r} (known: {', '.join(sorted(knowledge.policies))})")
        return [knowledge.policies[policy_id]]
    return [p for p in knowledge.policies.values() if p.jurisdiction == jurisdiction]


def iter_findings(engine: Engine, knowledge: Knowledge, as_of: date, policy_id: str | None = None,
                  conn: Connection | None = None) -> Iterator[Finding]:
    """Assess every device under the named policy, or under its department's jurisdiction's policies."""
    assessor = _Assessor(knowledge, as_of, policy_id)
    for view, site in iter_devices(engine, with_evidence=False, conn=conn):
        for policy, outcomes in assessor(view, site):
            for o in outcomes:
                yield Finding(view.id, site.name, policy, o.obligation, o.status, o.due, o.reasons)


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


def _fork_safe(engine: Engine) -> bool:
    """May children forked now open their own connections to this database?

    SQLite keeps per-process lock state for each open database file, which a forked child would
    inherit and misread; so this process must hold no connection to the file when it forks. This
    checks that none of this engine's is checked out (the caller then closes the idle ones); it
    cannot see other engines on the same file, which the shell never holds while it assesses. An
    in-memory SQLite database exists only in its own connection.
    """
    if engine.dialect.name != "sqlite":
        return True
    url = engine.url
    if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
        return False
    checked_out = getattr(engine.pool, "checkedout", None)
    return checked_out is not None and checked_out() == 0


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
    with engine.connect() as conn:
        low, high = conn.execute(select(func.min(DeviceRow.id), func.max(DeviceRow.id))).one()
    pages = [] if low is None else [range(start, min(start + PAGE, high + 1)) for start in range(low, high + 1, PAGE)]
    job = _AssessJob(knowledge, as_of, policy_id, pages)
    count = workers or worker_count()
    stamp: datetime = now()
    ids = [policy_id] if policy_id else list(knowledge.policies)
    with ExitStack() as workers_running:
        assessed: Iterator[_AssessedPage] | None = None
        if count > 1 and can_fork() and pages and high - low + 1 >= parallel_from and _fork_safe(engine):
            engine.dispose()  # closes the idle pooled connections: see _fork_safe
            assessed = workers_running.enter_context(forked(partial(_assessed_in_worker, engine, job), count,
                                                            lambda exc: RuntimeError(f"assessment: {exc}")))
        with engine.begin() as conn, bulk_work(conn):
            parts = count if assessed is not None else 1
            if assessed is None:
                assessed = _assessed_pages(job, conn, 0, 1)
            replaced = select(OutcomeRow.id).where(OutcomeRow.policy.in_(ids))
            conn.execute(delete(FindingRow).where(FindingRow.outcome_id.in_(replaced)))
            conn.execute(delete(OutcomeRow).where(OutcomeRow.policy.in_(ids)))
            stored: dict[_StoredOutcome, int] = {}  # each distinct outcome once, whichever worker found it
            constants = (constant(conn, as_of), constant(conn, stamp))
            # Per worker: the stored id of each outcome it numbered, and how often each was found.
            outcome_ids: list[list[int]] = [[] for _ in range(parts)]
            found: list[Counter[int]] = [Counter() for _ in range(parts)]
            for position, (fresh, devices, numbers) in enumerate(assessed):
                part = position % parts
                new = [o for o in dict.fromkeys(fresh) if o not in stored]
                for outcome, outcome_id in zip(new, allocate_ids(conn, OutcomeRow.__table__, len(new)), strict=True):
                    stored[outcome] = outcome_id
                insert_rows(conn, OutcomeRow.__table__, _OUTCOME_COLUMNS,
                            [(stored[o], *o, *constants) for o in new], frozenset({"reasons"}))
                outcome_ids[part].extend(stored[o] for o in fresh)
                known = outcome_ids[part]
                insert_rows(conn, FindingRow.__table__, ("device_id", "outcome_id"),
                            [(device, known[n]) for device, n in zip(devices, numbers, strict=True)])
                found[part].update(numbers)
            audit.record(conn, actor, "findings.assess", "findings", None,
                         {"as_of": as_of.isoformat(), "policies": ids,
                          "findings": sum(sum(c.values()) for c in found)})
    labels = {outcome_id: outcome[:3] for outcome, outcome_id in stored.items()}
    counts: Counter[tuple[str, str, str]] = Counter()
    for part_ids, part_found in zip(outcome_ids, found, strict=True):
        for number, n in part_found.items():
            counts[labels[part_ids[number]]] += n
    return counts


_OUTCOME_COLUMNS = ("id", "policy", "obligation", "status", "due", "reasons", "as_of", "assessed_at")


def stored_findings(engine: Engine, policy_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Findings as last stored by assess_all, in device order (the `clearsite assess` JSON contract)."""
    query = (select(FindingRow.device_id, SiteRow.name, OutcomeRow.policy, OutcomeRow.obligation, OutcomeRow.status,
                    OutcomeRow.due, OutcomeRow.reasons)
             .join(OutcomeRow, OutcomeRow.id == FindingRow.outcome_id)
             .join(DeviceRow, DeviceRow.id == FindingRow.device_id).join(SiteRow, SiteRow.id == DeviceRow.site_id)
             .order_by(FindingRow.device_id, OutcomeRow.policy, FindingRow.id))
    if policy_id:
        query = query.where(OutcomeRow.policy == policy_id)
    with engine.connect() as conn:
        for row in conn.execute(query):
            yield {"device_id": row.device_id, "site": row.name, "policy": row.policy, "obligation": row.obligation,
                   "status": row.status, "due": row.due.isoformat() if row.due else None, "reasons": row.reasons}


def site_names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(SiteRow.name).order_by(SiteRow.name)))


def write_report(engine: Engine, knowledge: Knowledge, out_dir: Path, as_of: date, policy_id: str | None = None):  # type: ignore[no-untyped-def]
    """Assess at `as_of` and write the internal findings report (HTML, CSV, XLSX, JSON) into out_dir."""
    from clearsite.render.report import write_report as render

    findings = [f.as_dict() for f in iter_findings(engine, knowledge, as_of, policy_id)]
    devices = [device_json(v, knowledge, as_of) for v, _ in iter_devices(engine)]
    with engine.connect() as conn:
        sites = [{"name": s.name, "department": s.department, "region": s.region,
                  "criteria": list(s.sensitivity_criteria),
                  "networks": [{"cidr": n.cidr, "core": n.core} for n in s.networks]}
                 for _, s in sorted(load_sites(conn).items())]
    return render(out_dir, devices, findings, sites, as_of)
