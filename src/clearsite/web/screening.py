"""Procurement screening from the web: the shell around `clearsite.core.screen` (pure), fed from the store.

The screen core needs the site (its sensitivity changes the answer), the knowledge base, a date
and the supplier attestations on record; this module gathers those and turns the decisions into
plain dicts for both the API and the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, or_, select

from clearsite.core.errors import UnavailableError
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Site
from clearsite.store.auth_tables import AttestationRow
from clearsite.web import cache, queries
from clearsite.web.access import Principal
from clearsite.web.schemas import QuoteLineIn

# Screening with no site named is done as for a sensitive site: the strictest answer is the safe default.
UNNAMED_SITE = Site("(no site named)", "(none)", holds_secret=True)


class ScreeningUnavailable(UnavailableError, RuntimeError):
    """clearsite.core.screen is not installed in this build."""


@dataclass(frozen=True, slots=True)
class ScreenResult:
    decision: str
    lines: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)  # rows of a quote file that could not be read


def _core():  # type: ignore[no-untyped-def]
    try:
        import clearsite.core.screen as core
    except ImportError as exc:
        raise ScreeningUnavailable("procurement screening (clearsite.core.screen) is not available in this build") from exc
    if not hasattr(core, "screen"):
        raise ScreeningUnavailable("procurement screening (clearsite.core.screen) is not available in this build")
    return core


def attestations(conn: Connection, principal: Principal) -> list[Any]:
    key = ("attestations", id(conn.engine), principal.user.department_id)
    return cache.remembered(key, lambda: _attestations(conn, principal))


def _attestations(conn: Connection, principal: Principal) -> list[Any]:
    core = _core()
    query = select(AttestationRow.supplier, AttestationRow.statement, AttestationRow.signed, AttestationRow.expires,
                   AttestationRow.source)
    if principal.user.department_id is not None:
        query = query.where(or_(AttestationRow.department_id.is_(None),
                                AttestationRow.department_id == principal.user.department_id))
    return [core.Attestation(r.supplier, core.Statement(r.statement), r.signed, r.expires, r.source)
            for r in conn.execute(query)]


def site_for(conn: Connection, principal: Principal, site_id: int | None) -> Site | None:
    """The site to screen for; None when it is not visible to the principal."""
    if site_id is None:
        return UNNAMED_SITE
    user = principal.user  # the scope depends on role, department and agent site: all in the key

    def load() -> Site | None:
        found = queries.get_site(conn, principal, site_id)
        return queries.site_domain(found) if found else None

    return cache.remembered(("site", id(conn.engine), site_id, user.role, user.department_id, user.site_id), load)


def lines_from_api(items: list[QuoteLineIn]) -> list[Any]:
    core = _core()
    return [core.QuoteLine(**item.model_dump(), source=f"line {n}") for n, item in enumerate(items, start=1)]


def lines_from_file(data: bytes, file_name: str) -> tuple[list[Any], list[str]]:
    """Lines read from a quote file, and one message per row it could not read (QuoteError if none)."""
    from clearsite.formats.quotes import read_quote

    read = read_quote(data, file_name)
    return list(read.lines), read.messages()


def run(lines: list[Any], site: Site, knowledge: Knowledge, on: date, held: list[Any],
        problems: list[str] | None = None) -> ScreenResult:
    core = _core()
    decisions = core.screen(lines, site, knowledge, on, held)
    rows = [d.as_dict() for d in decisions]
    worst = max((d.decision for d in decisions), key=lambda d: d.severity, default=None)
    # A quote with rows that could not be read is never cleared as a whole.
    decision = worst.value if worst else "allow"
    if problems and decision == "allow":
        decision = "review"
    return ScreenResult(decision, rows, problems or [])
