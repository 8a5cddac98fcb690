"""Identity rows: written as services computed them (the store identifies nothing itself).

An identity row is (device_id, label_brand, producer_id, model, device_class, confidence, evidence
chain, contradictions, alternatives, knowledge_version, computed_at), its JSON columns already
serialised, so a million rows go to the driver as plain tuples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete

from clearsite.store.bulk import insert_rows, table_of
from clearsite.store.tables import IdentityRow

__all__ = ["IDENTITY_COLUMNS", "add_identities", "replace_identities"]

IDENTITY_COLUMNS = ("device_id", "label_brand", "producer_id", "model", "device_class", "confidence", "evidence",
                    "contradictions", "alternatives", "knowledge_version", "computed_at")
_JSON_COLUMNS = frozenset({"evidence", "contradictions", "alternatives"})


def add_identities(conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
    """Store the identities of devices that have none yet."""
    insert_rows(conn, table_of(IdentityRow), IDENTITY_COLUMNS, rows, _JSON_COLUMNS)


def replace_identities(conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
    """Store identities in place of whatever those devices had."""
    conn.execute(delete(IdentityRow).where(IdentityRow.device_id.in_([row[0] for row in rows])))
    add_identities(conn, rows)
