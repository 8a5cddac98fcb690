"""The doors that bring observations: a register file, a scanner file or scan, an agent's push.

Each reads its own input, prepares observations, and hands them to `intake.record_observations`,
which stores, identifies, audits and re-assesses them the same way for all of them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine

from clearsite.core.errors import ConflictError, InputError, NotFoundError
from clearsite.core.identify import register_row_template
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Evidence, ScannedHost, Signal, Site
from clearsite.core.names import site_key
from clearsite.core.text import clean_tree, has_unsafe_characters
from clearsite.formats.guard import open_input_file
from clearsite.formats.register import (
    RegisterError,
    RegisterReader,
    RegisterRow,
    RowProblem,
    open_register,
    read_register_file,
)
from clearsite.formats.scans import (
    MAX_FILE_BYTES,
    NmapStream,
    ScanParseError,
    clean_hosts,
    is_xml_scan,
    parse_scan,
)
from clearsite.formats.scans.coverage import ScanCoverage
from clearsite.services.identification import identity_values
from clearsite.services.intake import Closing, Intake, Recorded, Source, record_observations
from clearsite.services.parallel import can_fork, forked, prefetched, worker_count
from clearsite.services.scan_coverage import check_scanned, file_coverage, resolve_coverage
from clearsite.store.agents import claim_push_key, finish_push_key
from clearsite.store.audit import canonical, record
from clearsite.store.bulk import dumps, lock_sites_for_intake
from clearsite.store.devices import NewObservation, fingerprint, stored_data_by_fingerprint
from clearsite.store.reads import SiteScope
from clearsite.store.site_reads import get_site
from clearsite.store.sites import find_site, load_sites, site_ids_by_key
from clearsite.store.transactions import write_transaction

__all__ = ["AGENT_KIND", "AgentObservation", "HostsReport", "ImportRefused", "ImportReport", "PushConflict",
           "PushOutOfScope", "PushRefused", "SiteNotFound", "content_digest", "host_observation", "import_register", "import_scan_file",
           "in_scope", "push_observations", "record_hosts"]


# --------------------------------------------------------------------------- register files


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


_READ_PIECE = 1 << 20  # a scanner file is read a MiB at a time
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
    batch: int = 20_000,
    parallel_from: int = PARALLEL_FROM_ROWS,
    workers: int | None = None,
) -> ImportReport:
    """Import a CSV/XLSX asset register: junk rows are reported and skipped (or refuse all with strict).

    Rows stream through in batches (store, merge into devices, identify) inside one transaction, so
    a million-row register fits in memory and a failure anywhere leaves the database as it was. Three
    batches are in hand at once (being made, written, and copied to PostgreSQL): 20,000 rows keeps them
    small (300,000 rows: peak 407 -> 326 MB against 50,000) for the same CPU.
    Registers of `parallel_from` lines or more are parsed and identified by forked worker processes
    (`workers`, default one per CPU); this process merges their rows in file order and writes them.
    """
    data = read_register_file(path)  # a regular file of bounded size: no FIFO, device or directory
    name = path.name
    reader = open_register(data, name, mapping, site_given=site is not None, today=today)
    report = ImportReport(name, 0, 0, 0, 0, 0)
    problems: list[RowProblem] = []

    def close(recorded: Recorded) -> Closing:
        report.skipped = [p.describe(name) for p in problems]
        if recorded.stored + recorded.duplicates == 0:
            raise ImportRefused(f"{name}: no usable rows ({len(problems)} skipped); nothing imported")
        return Closing("register.import", f"source:{recorded.source_id}",
                       {"file": name, "rows_read": report.rows_read, **recorded.counts(), "skipped": len(problems)},
                       report.rows_read, len(problems))

    def open_intake(conn: Connection) -> Intake:
        fixed_site = find_site(conn, site) if site else None
        job = _RowJob(data, name, mapping, site is not None, today, fixed_site, site_ids_by_key(conn), knowledge)
        source = Source("register", name, hashlib.sha256(data).hexdigest(), actor, fixed_site,
                        {"columns": reader.columns, "header_row": reader.header_row})
        # Made in a thread a batch ahead: taking rows from the workers overlaps the writer's waits on the database.
        rows = prefetched(_register_batches(job, reader, report, problems, strict=strict, batch=batch,
                                            workers=workers or worker_count(), parallel_from=parallel_from))
        return Intake(source, rows, close, distinct=True)  # _observation numbers repeated rows

    recorded = record_observations(engine, knowledge, open_intake)
    assert recorded is not None
    report.stored, report.duplicates = recorded.stored, recorded.duplicates
    report.new_devices, report.identified = recorded.new_devices, recorded.identified
    report.already_imported = report.stored == 0
    return report


def _register_batches(job: _RowJob, reader: RegisterReader, report: ImportReport, problems: list[RowProblem], *,
                      strict: bool, batch: int, workers: int, parallel_from: int) -> Generator[list[NewObservation], None, None]:
    """The register's usable rows as observations, `batch` at a time; counts rows, warnings and problems."""
    name = job.name
    seen: dict[int, int] = {}
    pending: list[NewObservation] = []
    size = min(batch, _CHUNK_ROWS)  # the first batches small, then doubling: the writer starts while workers work on
    with ExitStack() as workers_running:
        if workers > 1 and can_fork() and job.data.count(b"\n") >= parallel_from:
            # The workers never touch the database, so forking while the transaction is open is safe.
            chunks: Iterable[list[_PreparedRow]] = workers_running.enter_context(
                forked(partial(_prepared_chunks, job), workers, _unpicklable(job)))
        else:
            chunks = (_prepare_chunk(chunk, job) for chunk in reader.row_chunks(_CHUNK_ROWS))
        for chunk in chunks:
            for row_number, warnings, prepared in chunk:
                report.rows_read += 1
                if warnings is None:  # the row itself is junk
                    problems.append(prepared)  # type: ignore[arg-type]
                else:
                    report.warnings.extend(f"{name}: row {row_number}: {w}" for w in warnings)
                    if isinstance(prepared, RowProblem):
                        problems.append(prepared)
                    else:
                        pending.append(_observation(row_number, prepared, seen))
                if strict and (problems or report.warnings):
                    first = problems[0].describe(name) if problems else report.warnings[0]
                    raise ImportRefused(f"{first} (--strict: nothing imported)")
                if len(pending) >= size:
                    yield pending
                    pending = []
                    size = min(batch, size * 2)
    if pending:
        yield pending


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
    chains: dict[int, tuple[Any, Any]] = {}  # identity row columns once per template in the chunk
    sites: dict[str, int | None] = {}  # a site's name as written -> its id: a few thousand names, a million rows
    out: list[_PreparedRow] = []
    for item in items:
        if isinstance(item, RowProblem):
            out.append((item.row_number, None, item))
            continue
        out.append((item.row_number, item.warnings, _prepare_row(item, job, chains, sites)))
    return out


def _prepare_row(row: RegisterRow, job: _RowJob, chains: dict[int, tuple[Any, Any]],
                 sites: dict[str, int | None]) -> RowProblem | _Prepared:
    site_id = job.fixed_site
    if site_id is None:
        written = row.values.get("site", "")
        site_id = sites.get(written, -1)
        if site_id == -1:
            site_id = sites[written] = job.site_ids.get(site_key(written))
        if site_id is None:
            reason = f"unknown site {written!r}" if written else "no site given"
            return RowProblem(row.row_number, f"{reason}; skipped")
    fields: dict[str, str | None] = {k: v for k, v in row.values.items() if k != "site"}
    install = row.install_date
    source = f"{job.name} row {row.row_number}"
    template = register_row_template(source, fields, job.knowledge, install)
    gives_evidence = any((value := fields.get(f)) and value.strip() for f in _EVIDENCE_FIELDS)  # as a rule
    data = dumps({"fields": {**fields, "install_date": install.isoformat() if install else None},
                  "install_date": install, "source": source if gives_evidence else f"row {row.row_number}"})
    return (site_id, fingerprint(site_id, "register_row", _row_content(fields, install), 0), fields.get("serial"),
            fields.get("mac"), fields.get("ip"), install, fields.get("location"), data,
            identity_values(template, chains))


# The fields register_row_evidence makes evidence of.
_EVIDENCE_FIELDS = ("brand", "model", "serial", "mac", "description", "device_type", "firmware")


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


# --------------------------------------------------------------------------- scanner files and scans


@dataclass
class HostsReport:
    source: str
    hosts: int = 0
    stored: int = 0
    duplicates: int = 0
    new_devices: int = 0
    identified: int = 0
    out_of_scope: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    coverage: str | None = None  # what the file proved its run covered, in one line (scanner files)


def host_observation(host: ScannedHost, site_id: int, kind: str, source: str) -> NewObservation:
    """A scanned host as an observation; its MAC becomes evidence too (the OUI is a weak signal)."""
    evidence = list(host.evidence)
    if host.mac and not any(e.signal == Signal.MAC for e in evidence):
        evidence.append(Evidence(Signal.MAC, host.mac, f"{source} host {host.ip or host.mac}"))
    serial = next((e.value for e in evidence if e.signal == Signal.SERIAL), None)
    fields = {"ip": host.ip, "mac": host.mac, "hostname": host.hostname, "ports": sorted(host.open_ports),
              "extra": host.extra, "serial": serial}
    content = json.dumps([fields, [[e.signal.value, e.value] for e in evidence]], sort_keys=True, default=str)
    return NewObservation(
        site_id=site_id, kind=f"{kind}_host", locator=host.ip or host.mac or "?", fields=fields,
        evidence=tuple(evidence), fingerprint=fingerprint(site_id, f"{kind}_host", content, 0),
        serial=serial, mac=host.mac, ip=host.ip,
    )


def in_scope(site: Site, ip: str | None) -> bool:
    """A host without an IP (a switch MAC-table row) is placed by the user; one with an IP must be ours."""
    return ip is None or site.network_for(ip) is not None


def record_hosts(engine: Engine, knowledge: Knowledge, site_name: str, kind: str, source_name: str,
                 sha256: str, hosts: Iterable[ScannedHost], actor: str = "cli") -> HostsReport:
    """Record hosts seen at a site (a scanner file, or a live scan's latest hosts) through the one intake."""
    return record_host_batches(engine, knowledge, site_name, kind, source_name, sha256, [hosts], actor)


def record_host_batches(engine: Engine, knowledge: Knowledge, site_name: str, kind: str, source_name: str,
                        sha256: str, batches: Iterable[Iterable[ScannedHost]], actor: str = "cli",
                        coverage: Callable[[], ScanCoverage | None] | None = None) -> HostsReport:
    """record_hosts for hosts that arrive in batches (a large file streamed): one intake, one transaction.

    `coverage`, asked once the last batch is stored, is what the file proves its run covered
    (services.scan_coverage): recorded at the run's start time, it verifies earlier removal claims."""
    report = HostsReport(source_name)

    def open_intake(conn: Connection) -> Intake:
        site_id = find_site(conn, site_name)
        site = load_sites(conn)[site_id]

        def observations() -> Iterator[list[NewObservation]]:
            for hosts in batches:
                batch = []
                for host in hosts:
                    report.hosts += 1
                    if not in_scope(site, host.ip):
                        report.out_of_scope.append(
                            f"{source_name}: host {host.ip}: not in the networks of {site.name}; skipped")
                        continue
                    batch.append(host_observation(host, site_id, kind, source_name))
                yield batch

        def close(recorded: Recorded) -> Closing:
            payload = {"source": source_name, "site": site.name, "hosts": report.hosts, **recorded.counts(),
                       "out_of_scope": len(report.out_of_scope)}
            if coverage is None:
                return Closing(f"{kind}.import", f"source:{recorded.source_id}", payload, report.hosts,
                               len(report.out_of_scope))
            targets, covered_at, why = resolve_coverage(conn, site_id, site, coverage())
            report.coverage = why
            payload["coverage"] = {"targets": list(targets)[:50], "from": covered_at.isoformat() if covered_at else None,
                                   "rule": why}
            return Closing(f"{kind}.import", f"source:{recorded.source_id}", payload, report.hosts,
                           len(report.out_of_scope), covered=targets, covered_at=covered_at)

        return Intake(Source(kind, source_name, sha256, actor, site_id), observations(), close)

    recorded = record_observations(engine, knowledge, open_intake)
    assert recorded is not None
    report.stored, report.duplicates = recorded.stored, recorded.duplicates
    report.new_devices, report.identified = recorded.new_devices, recorded.identified
    return report


def import_scan_file(engine: Engine, knowledge: Knowledge, path: Path, site: str, kind: str,
                     actor: str = "cli", scanned: Sequence[str] = ()) -> HostsReport:
    """Import nmap XML, masscan JSON/list/XML, or a switch MAC/ARP/DHCP table as observations at a site.

    XML (nmap's and masscan's -oX, the large ones) is streamed: hashed in one pass, then parsed and
    stored a batch of hosts at a time, so memory does not grow with the file. Other kinds are read whole.
    An XML run's coverage (what it proves it looked at: formats.scans.coverage states the rules; masscan's
    over the ranges `scanned` it was given) is recorded with it; a switch table covers its site by MAC.
    """
    scanned = check_scanned(scanned)
    with open_input_file(path, ScanParseError, limit=MAX_FILE_BYTES, what="scan file") as (handle, _size):
        head = handle.read(4096)
        if not is_xml_scan(head):
            handle.seek(0)
            data = handle.read(MAX_FILE_BYTES + 1)
        else:
            digest = hashlib.sha256(head)
            for piece in iter(lambda: handle.read(_READ_PIECE), b""):
                digest.update(piece)
            handle.seek(0)
            stream = NmapStream(iter(lambda: handle.read(_READ_PIECE), b""), path.name)
            problems: list[str] = []

            def batches() -> Iterator[list[ScannedHost]]:
                for batch in stream:
                    cleaned = clean_hosts(batch)
                    problems.extend(str(e) for e in cleaned.errors)
                    yield cleaned

            report = record_host_batches(engine, knowledge, site, kind, path.name, digest.hexdigest(), batches(),
                                         actor, lambda: file_coverage(stream.facts, kind, scanned))
            report.problems = [str(e) for e in stream.errors] + problems
            return report
    hosts = parse_scan(data, path.name)
    report = record_hosts(engine, knowledge, site, kind, path.name, hashlib.sha256(data).hexdigest(), hosts, actor)
    report.problems = [str(e) for e in hosts.errors]
    if kind in ("nmap", "masscan"):
        report.coverage = ("no coverage: masscan JSON and list output say neither when the run began nor that it "
                           "finished (only -oX does)") if kind == "masscan" else "no coverage: not nmap XML"
    return report


# --------------------------------------------------------------------------- agents' pushes


AGENT_KIND = "agent_host"  # as host_observation names a host an agent saw


class SiteNotFound(NotFoundError, LookupError):
    """Absent, or outside the caller's scope (the two are answered alike)."""


class PushConflict(ConflictError, ValueError):
    """An agent id reused for different content: an agent's ids name observations, not requests."""


class PushRefused(InputError, ValueError):
    """A push that cannot be taken as sent."""


class PushOutOfScope(PushRefused):
    """A push with addresses outside its site's declared networks: refused whole, and alerted."""

    def __init__(self, site_id: int, site_name: str, outside: Sequence[AgentObservation]) -> None:
        self.site_id, self.site_name = site_id, site_name
        self.outside = [(i.id, i.ip or "") for i in outside]
        first_id, first_ip = self.outside[0]
        super().__init__(f"{len(self.outside)} address(es) outside the networks of site {site_name!r} "
                         f"(first {first_ip}, id {first_id!r}); the push was refused")

    def alert(self, engine: Engine, agent: str, actor: str, key: str | None) -> None:
        """An `agent_refused` alert for the site's department and an audit entry, in a transaction of their own."""
        from clearsite.services.alerts import raise_alert  # loaded when first needed: most pushes raise none

        now = _utc_now()
        reason = (f"{len(self.outside)} address(es) outside the networks of {self.site_name}, "
                  f"first {self.outside[0][1]}")
        with write_transaction(engine) as conn:
            raise_alert(conn, kind="agent_refused", site_id=self.site_id, device_id=None,
                        detail=f"agent {agent}: {reason}", at=now,
                        dedupe_key=f"agent_refused:{self.site_id}:scope:{key or now.isoformat()}")
            record(conn, actor, "agent.refused", f"site:{self.site_id}", None,
                         {"reason": reason, "ids": [i for i, _ in self.outside[:50]]})


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def content_digest(content: dict[str, Any]) -> str:
    """The digest an agent observation's content is kept under (everything it sent but its id, as JSON).

    The JSON is store.audit.canonical's text: orjson with sorted keys writes the same bytes for the
    strings, lists and nulls an observation holds (tests/test_agent_push_digest.py holds them equal) at a
    fraction of the cost; anything orjson refuses goes the canonical way.
    """
    try:
        text = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        text = canonical(content).encode()
    return hashlib.sha256(text).hexdigest()


@dataclass(slots=True)  # not frozen: a push makes a thousand, and a frozen dataclass is several times slower to make
class AgentObservation:
    """One host an agent observed, as it pushed it (`content_sha256` covers everything but its id).
    Not changed once made."""

    id: str
    content_sha256: str
    ip: str | None = None
    mac: str | None = None  # normalised
    mac_as_sent: str | None = None
    serial: str | None = None
    location: str | None = None
    observed_at: str | None = None
    evidence: tuple[Evidence, ...] = ()


def push_observations(engine: Engine, knowledge: Knowledge, scope: SiteScope, site_id: int, agent: str,
                      actor: str, items: Sequence[AgentObservation], key: str | None = None,
                      covered: Sequence[str] = (), scanned_at: datetime | None = None) -> dict[str, Any]:
    """Record an agent's observations for one site; an id already stored is skipped (a retry), not doubled.

    The same id with different content is refused (PushConflict). A host whose address lies outside
    the site's declared networks refuses the whole push (PushOutOfScope, nothing stored) and raises an
    `agent_refused` alert, as an agent's batch is refused (services.agents): a scan must stay in scope,
    and an agent must not place devices at sites it does not watch. A pure retry writes and audits nothing.

    `key`, an agent batch's idempotency key, is recorded in the same transaction as what the batch
    stored; a batch re-sent under it is answered as first applied and writes nothing (store.agents).

    `covered` (CIDR or addresses, each inside the site's networks, else PushRefused naming it) is what a
    finished agent scan that started at `scanned_at` looked at in full: recorded as coverage of that time,
    it verifies removal claims made before the scan (services.verification). It may come without items.
    """
    ids = [i.id for i in items]
    covered_at = _coverage_time(covered, scanned_at)
    if len(set(ids)) != len(ids):
        raise PushRefused("observation ids repeat within one push")
    answer: dict[str, Any] = {"stored": 0, "duplicates": 0, "new_devices": 0, "identified": 0, "out_of_scope": []}

    def open_intake(conn: Connection) -> Intake | None:
        if get_site(conn, scope, site_id) is None:
            raise SiteNotFound(f"site {site_id}")
        if key is not None and (earlier := claim_push_key(conn, key, site_id, _utc_now())) is not None:
            if earlier[0] != site_id:
                raise PushConflict(f"push key {key!r} was already used for another site")
            answer.update(earlier[1], replayed=True)
            return None
        lock_sites_for_intake(conn, [site_id])  # before reading what is stored: pushes for one site queue here
        site = load_sites(conn, [site_id])[site_id]  # this site only, not every site's networks
        outside = [i for i in items if i.ip and site.network_for(i.ip) is None]
        if outside:
            raise PushOutOfScope(site_id, site.name, outside)
        marks = {fingerprint(site_id, AGENT_KIND, f"client:{i.id}", 0): i for i in items}
        stored = stored_data_by_fingerprint(conn, list(marks))
        for mark, data in stored.items():
            if data.get("fields", {}).get("content_sha256") != marks[mark].content_sha256:
                raise PushConflict(f"observation id {marks[mark].id!r} was already stored with different content")
        answer["duplicates"] = len(stored)
        fresh = [(mark, item) for mark, item in marks.items() if mark not in stored]
        targets = _covered_in(site, covered)
        if not fresh and not targets:
            if key is not None:
                finish_push_key(conn, key, answer)
            return None  # a pure retry: nothing changes, nothing to audit
        observations = [_agent_observation(site_id, mark, item, agent) for mark, item in fresh]

        def close(recorded: Recorded) -> Closing:
            counts = {**recorded.counts(), "duplicates": len(stored)}
            if key is not None:
                finish_push_key(conn, key, {**answer, **counts})
            return Closing("observations.push", f"site:{site_id}",
                           {"source": recorded.source_id, **counts, "out_of_scope": [],
                            "ids": [i.id for _, i in fresh][:50]},
                           len(items), 0)

        sha256 = hashlib.sha256("|".join(sorted(m for m, _ in fresh)).encode()).hexdigest()
        return Intake(Source("agent", f"push by {agent}", sha256, actor, site_id, covered=targets,
                             covered_at=covered_at), [observations] if observations else [], close,
                      unseen=True, targeted=True)

    try:
        recorded = record_observations(engine, knowledge, open_intake)
    except PushOutOfScope as refused:  # rolled back; the refusal itself is kept, alerted and audited
        refused.alert(engine, agent, actor, key)
        raise
    if recorded is not None:
        answer.update(stored=recorded.stored, new_devices=recorded.new_devices, identified=recorded.identified)
    return answer


def _coverage_time(covered: Sequence[str], scanned_at: datetime | None) -> datetime | None:
    """The naive-UTC start of the scan a push's coverage comes from; refused when missing or in the future."""
    if not covered:
        return None
    if scanned_at is None:
        raise PushRefused("covered: needs scanned_at, the time the scan that covered it began")
    at = scanned_at.astimezone(UTC).replace(tzinfo=None) if scanned_at.tzinfo else scanned_at
    if at > _utc_now() + timedelta(minutes=5):
        raise PushRefused(f"scanned_at: {scanned_at.isoformat()} is in the future")
    return at


def _covered_in(site: Site, covered: Sequence[str]) -> tuple[str, ...]:
    """A push's coverage as networks, each inside one of the site's declared networks (else PushRefused)."""
    import ipaddress

    declared = [ipaddress.ip_network(n.cidr, strict=False) for n in site.networks]
    found: list[str] = []
    for index, text in enumerate(covered):
        try:
            target = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise PushRefused(f"covered[{index}]: {text[:80]!r} is not an address or network") from None
        if not any(target.version == n.version and target.subnet_of(n) for n in declared):  # type: ignore[arg-type]
            raise PushRefused(f"covered[{index}]: {target} is not within the networks of {site.name}")
        found.append(str(target))
    return tuple(dict.fromkeys(found))


def _agent_observation(site_id: int, mark: str, item: AgentObservation, agent: str) -> NewObservation:
    """What an agent sent, as an observation: every text cleaned of control and bidi characters (a NUL
    would fail on PostgreSQL), the fields that had any removed named under "cleaned"."""
    where = f"agent {agent} observation {item.id}"
    sent = {"ip": item.ip, "mac": item.mac_as_sent, "serial": item.serial, "location": item.location,
            "observed_at": item.observed_at}
    every_text = "".join([text for text in sent.values() if text] + [e.value + e.source for e in item.evidence])
    if not has_unsafe_characters(every_text):  # nearly always: nothing to clean, nothing to copy
        shown: dict[str, Any] = sent
        pairs: Iterable[tuple[str, str] | list[str]] = ((e.value, e.source) for e in item.evidence)
        changed: list[str] = []
    else:
        shown, changed = clean_tree({**sent, "evidence": [[e.value, e.source] for e in item.evidence]})
        pairs = shown.pop("evidence")
    fields = {"client_id": item.id, **shown, "content_sha256": item.content_sha256,
              **({"cleaned": changed} if changed else {})}
    evidence = tuple([Evidence(e.signal, value, f"{where}: {source}" if source else where)
                      for e, (value, source) in zip(item.evidence, pairs, strict=True)])
    return NewObservation(site_id=site_id, kind=AGENT_KIND, locator=f"agent:{item.id}", fields=fields,
                          evidence=evidence, fingerprint=mark, serial=shown["serial"], mac=item.mac, ip=shown["ip"],
                          location=shown["location"])
