"""What an evidence pack quotes besides the claims: the sources and coverage records that verified them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from clearsite.store.removals import CoverageRow
from clearsite.store.tables import Department, SiteRow, SourceRow

__all__ = ["coverage_by_id", "site_names", "sources_by_id"]


def sources_by_id(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Each source (an import, a scan, an agent push) as a pack quotes it: what, when, who, its file's hash."""
    if not ids:
        return {}
    query = select(SourceRow.id, SourceRow.kind, SourceRow.name, SourceRow.sha256, SourceRow.imported_at,
                   SourceRow.actor).where(SourceRow.id.in_(sorted(set(ids))))
    return {row.id: {"id": row.id, "kind": row.kind, "name": row.name, "sha256": row.sha256,
                     "imported_at": row.imported_at.isoformat(timespec="seconds"), "actor": row.actor}
            for row in conn.execute(query)}


def coverage_by_id(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """What each coverage record says an intake looked at."""
    if not ids:
        return {}
    query = select(CoverageRow.id, CoverageRow.kind, CoverageRow.at, CoverageRow.targets, CoverageRow.by_mac) \
        .where(CoverageRow.id.in_(sorted(set(ids))))
    return {row.id: {"id": row.id, "kind": row.kind, "at": row.at.isoformat(timespec="seconds"),
                     "targets": list(row.targets), "by_mac": row.by_mac} for row in conn.execute(query)}


def site_names(conn: Connection, department_id: int | None = None) -> dict[int, tuple[str, int, str]]:
    """Site id -> (site name, department id, department name)."""
    query = select(SiteRow.id, SiteRow.name, SiteRow.department_id, Department.name) \
        .join(Department, Department.id == SiteRow.department_id)
    if department_id is not None:
        query = query.where(SiteRow.department_id == department_id)
    return {row[0]: (row[1], row[2], row[3]) for row in conn.execute(query)}
