"""Per-site summary of the estate: devices, findings by status and the removal programme's progress, one row
per site (a few thousand), so the dashboard and the programme timeline read a few thousand rows rather than
every finding of a million devices.

Derived data, like the inventory index (store.inventory_index) and rebuilt with it: the rows are written from
the very queries that would otherwise answer (site_reads.finding_counts_by_site, timeline_reads.site_removals,
over every site), so reading the summary gives the same numbers by construction. It records the estate's
fingerprint and the removal obligations it was built for; a reader uses it only when both still match, and
otherwise asks the findings as before, so an answer is never stale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import Connection, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from clearsite.store.inventory_index import fingerprint
from clearsite.store.tables import Base

__all__ = ["SiteStatusSummaryRow", "SiteSummaryRow", "is_fresh", "obligations_key", "stamp", "write_summary"]

_STATE_ID = 2  # its row in device_index_state (row 1 is the inventory index's)


class SiteSummaryRow(Base):
    __tablename__ = "site_summary"
    site_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    devices: Mapped[int] = mapped_column(Integer)
    # the removal programme (timeline_reads.SiteRemovals): devices open, claimed and verified removed
    removal_open: Mapped[int] = mapped_column(Integer)
    removal_claimed: Mapped[int] = mapped_column(Integer)
    removal_verified: Mapped[int] = mapped_column(Integer)
    last_removed: Mapped[date | None] = mapped_column(Date)


class SiteStatusSummaryRow(Base):
    __tablename__ = "site_status_summary"
    site_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    findings: Mapped[int] = mapped_column(Integer)


def obligations_key(obligations: Sequence[tuple[str, str]], outstanding: Sequence[str]) -> str:
    """The removal obligations and outstanding statuses a summary's removal columns were counted for."""
    text = ";".join(f"{p}/{o}" for p, o in sorted(obligations)) + "|" + ",".join(sorted(outstanding))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _stamp(conn: Connection, key: str) -> str:
    return f"{fingerprint(conn)}#{key}"


def is_fresh(conn: Connection, key: str | None = None) -> bool:
    """Whether the summary describes the estate as it is now (and, given `key`, was counted for those
    obligations; without it, only the device and finding counts are asked for)."""
    stored = conn.exec_driver_sql(f"SELECT fingerprint FROM device_index_state WHERE id = {_STATE_ID}").scalar()
    if stored is None:
        return False
    if key is not None:
        return bool(stored == _stamp(conn, key))
    return bool(stored.rsplit("#", 1)[0] == fingerprint(conn))


def stamp(conn: Connection, key: str) -> str:
    """What a summary about to be counted is built from: take it before counting, so a change made meanwhile
    leaves the summary marked stale rather than fresh."""
    return _stamp(conn, key)


def write_summary(conn: Connection, built_from: str, devices: dict[int, int], statuses: dict[int, dict[str, int]],
                  removals: Iterable[tuple[int, int, int, int, date | None]]) -> None:
    """Replace the summary (in the caller's transaction): devices per site, findings per site and status, and
    (site, open, claimed, verified, last removed) of the removal programme, counted from `built_from` (`stamp`)."""
    marker = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
    conn.exec_driver_sql("DELETE FROM site_summary")
    conn.exec_driver_sql("DELETE FROM site_status_summary")
    by_site: dict[int, list[object]] = {site: [site, count, 0, 0, 0, None] for site, count in devices.items()}
    for site, open_, claimed, verified, last in removals:
        row = by_site.setdefault(site, [site, 0, 0, 0, 0, None])
        row[2:] = [open_, claimed, verified, last]
    if by_site:
        conn.exec_driver_sql(
            "INSERT INTO site_summary (site_id, devices, removal_open, removal_claimed, removal_verified, "
            f"last_removed) VALUES ({', '.join([marker] * 6)})", [tuple(r) for r in by_site.values()])
    status_rows = [(site, status, count) for site, counts in statuses.items() for status, count in counts.items()]
    if status_rows:
        conn.exec_driver_sql(f"INSERT INTO site_status_summary (site_id, status, findings) VALUES ({marker}, "
                             f"{marker}, {marker})", status_rows)
    conn.exec_driver_sql(f"DELETE FROM device_index_state WHERE id = {_STATE_ID}")
    conn.exec_driver_sql(f"INSERT INTO device_index_state (id, fingerprint) VALUES ({_STATE_ID}, {marker})", (built_from,))
