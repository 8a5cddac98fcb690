"""The findings and audit lists beyond one page: exact totals, the filter choices, and "export this view" as CSV
streamed in keyset chunks (each chunk its own short read, so memory stays flat and no transaction is held)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import Engine

from clearsite.core.errors import InputError
from clearsite.core.knowledge import Knowledge
from clearsite.render.list_csv import csv_chunks
from clearsite.store.audit import AuditEntry, entries
from clearsite.store.finding_list import (
    FINDING_SORTS,
    FindingFilter,
    count_findings,
    filtered_findings,
    sort_value,
)
from clearsite.store.reads import SiteScope

__all__ = ["FINDING_SORTS", "audit_export", "audit_matches", "check_finding_filter", "finding_choices",
           "finding_cursor", "finding_total", "findings_export", "parse_finding_sort", "read_finding_cursor"]

CHUNK = 2000
FINDING_COLUMNS = (("Finding id", "id"), ("Device id", "device_id"), ("Site id", "site_id"), ("Site", "site"),
                   ("Policy", "policy"), ("Obligation", "obligation"), ("Status", "status"), ("Due", "due"),
                   ("Reason", "reason"), ("Assessed on", "as_of"))
AUDIT_COLUMNS = (("Entry", "seq"), ("When (UTC)", "at"), ("Who", "actor"), ("What", "action"),
                 ("Object", "target"), ("Hash", "hash"))


def finding_choices(knowledge: Knowledge) -> list[dict[str, Any]]:
    """The policies and their obligations, for the filter's select boxes."""
    return [{"id": p.id, "title": p.title, "obligations": [{"id": o.id, "title": o.title} for o in p.obligations]}
            for p in sorted(knowledge.policies.values(), key=lambda p: p.id)]


def check_finding_filter(knowledge: Knowledge, policy: str | None, obligation: str | None) -> None:
    """A policy or obligation the knowledge base does not hold is bad input, not an empty list."""
    if policy is not None and policy not in knowledge.policies:
        raise InputError(f"policy {policy[:40]!r}: choose one from the list")
    known = {o.id for p in knowledge.policies.values() if policy in (None, p.id) for o in p.obligations}
    if obligation is not None and obligation not in known:
        raise InputError(f"obligation {obligation[:40]!r}: choose one from the list")


def finding_total(engine: Engine, scope: SiteScope, site_id: int | None = None, status: str | None = None, *,
                  policy: str | None = None, obligation: str | None = None) -> int:
    """How many findings in the scope match: exact, the same filter as estate.findings."""
    with engine.connect() as conn:
        return count_findings(conn, scope, FindingFilter(site_id, status, policy, obligation))


def _all_findings(engine: Engine, scope: SiteScope, wanted: FindingFilter) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        with engine.connect() as conn:
            rows = filtered_findings(conn, scope, wanted, after, CHUNK)
        for row in rows:  # the list's reason column: the specific reason after the summary
            reasons = row["reasons"] or []
            yield {**row, "reason": reasons[1] if len(reasons) > 1 else (reasons[0] if reasons else None)}
        if len(rows) < CHUNK:
            return
        after = rows[-1]["id"]


def findings_export(engine: Engine, scope: SiteScope, site_id: int | None = None, status: str | None = None, *,
                    policy: str | None = None, obligation: str | None = None) -> Iterator[bytes]:
    """Every finding the filter matches, in the list's order, as CSV chunks."""
    return csv_chunks(FINDING_COLUMNS, _all_findings(engine, scope, FindingFilter(site_id, status, policy,
                                                                                   obligation)))


def audit_matches(entry: AuditEntry, target: str, text: str) -> bool:
    """The audit page's filter: one object's entries, and/or those whose actor or action contains the text."""
    return (not target or entry.target == target) and (not text or text in f"{entry.actor} {entry.action}".lower())


def _audit_rows(engine: Engine, target: str, text: str) -> Iterator[dict[str, Any]]:
    before = 0
    while True:
        with engine.connect() as conn:  # reads only: exporting the log does not write to it
            batch = entries(conn, before, CHUNK, newest_first=True)
        for e in batch:
            if audit_matches(e, target, text):
                yield {"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target,
                       "hash": e.hash}
        if len(batch) < CHUNK or batch[-1].seq <= 1:
            return
        before = batch[-1].seq


def audit_export(engine: Engine, target: str = "", text: str = "") -> Iterator[bytes]:
    """The log's entries the filter matches, newest first as the page lists them, as CSV (no before/after
    payloads: those stay on the page and in `clearsite audit`)."""
    return csv_chunks(AUDIT_COLUMNS, _audit_rows(engine, target.strip(), " ".join(text.split()).lower()))


def parse_finding_sort(text: str | None) -> tuple[str, bool]:
    """`due`, `-due` (descending), … as (sort, descending); InputError naming the choices otherwise."""
    text = (text or "id").strip()
    sort, descending = text.removeprefix("-"), text.startswith("-")
    if sort not in FINDING_SORTS:
        raise InputError(f"sort {text[:20]!r}: choose one of {', '.join(FINDING_SORTS)}")
    return sort, descending


def finding_cursor(row: dict[str, Any], sort: str) -> str:
    """Where the next page of a sorted findings list starts: the last row's sort value and id."""
    value = sort_value(row, sort)
    return f"{value.isoformat() if isinstance(value, date) else value}~{row['id']}"


def read_finding_cursor(text: str, sort: str) -> tuple[Any, int]:
    """A cursor finding_cursor made, typed for its sort; InputError when it is not one."""
    value, _, last = text.rpartition("~")
    try:
        typed: Any = (int(value) if sort in ("device", "status") else date.fromisoformat(value) if sort == "due"
                      else value)
        return typed, int(last)
    except ValueError:
        raise InputError("after: not a page of this list (start again from the first page)") from None
