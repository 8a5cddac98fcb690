"""Small changes people make by hand: a site's region and sensitivity, a device's removal date, a
supplier attestation. The caller holds the transaction and writes the audit entry beside it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, update

from clearsite.core.models import SENSITIVITY_CRITERIA
from clearsite.store.auth_tables import AttestationRow
from clearsite.store.tables import SiteRow

__all__ = ["insert_attestation", "update_site_columns"]

SITE_COLUMNS = frozenset({"region", *SENSITIVITY_CRITERIA})


def update_site_columns(conn: Connection, site_id: int, values: dict[str, Any]) -> None:
    unknown = set(values) - SITE_COLUMNS
    if unknown:
        raise ValueError(f"not a column a person may change: {', '.join(sorted(unknown))}")
    if values:
        conn.execute(update(SiteRow).where(SiteRow.id == site_id).values(**values))


def insert_attestation(conn: Connection, values: dict[str, Any], *, department_id: int | None,
                       recorded_by: str) -> int:
    """Store a supplier attestation (held for everyone when department_id is None)."""
    row = {**values, "department_id": department_id, "recorded_by": recorded_by,
           "created_at": datetime.now(UTC).replace(tzinfo=None)}
    key = conn.execute(insert(AttestationRow).values(**row)).inserted_primary_key
    assert key is not None
    return int(key[0])
