"""Identity rows: written as services computed them (the store identifies nothing itself).

An identity row is (device_id, label_brand, producer_id, model, device_class, confidence, evidence
chain, contradictions, alternatives, knowledge_version, computed_at), its JSON columns already
serialised, so a million rows go to the driver as plain tuples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select

from clearsite.store.bulk import insert_rows, table_of
from clearsite.store.tables import IdentityRow

__all__ = ["IDENTITY_COLUMNS", "add_identities", "any_identity_of_another_version", "observation_data_between",
           "remove_identities_between", "replace_identities"]

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


def _marker(conn: Connection) -> str:
    return "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"


def observation_data_between(conn: Connection, low: int, high: int) -> dict[int, list[dict[str, Any]]]:
    """Every device with an id in [low, high), with its stored observation data in observation order.

    One range query per page of devices rather than IN lists of ids (what a whole-estate refresh reads);
    PostgreSQL sends the JSON as text, which orjson parses several times faster than the driver's json.
    """
    mark = _marker(conn)
    data: dict[int, list[dict[str, Any]]] = {
        device_id: [] for (device_id,) in conn.exec_driver_sql(
            f"SELECT id FROM devices WHERE id >= {mark} AND id < {mark} ORDER BY id", (low, high))}
    text = "data::text" if conn.dialect.name == "postgresql" else "data"
    rows = conn.exec_driver_sql(f"SELECT device_id, {text} FROM observations WHERE device_id >= {mark} "
                                f"AND device_id < {mark} ORDER BY device_id, id", (low, high))
    for device_id, stored in rows:
        data.setdefault(device_id, []).append(orjson.loads(stored) if isinstance(stored, str | bytes) else stored)
    return data


def remove_identities_between(conn: Connection, low: int, high: int) -> None:
    """Forget the identities of the devices with ids in [low, high) (they are about to be written again)."""
    mark = _marker(conn)
    conn.exec_driver_sql(f"DELETE FROM identities WHERE device_id >= {mark} AND device_id < {mark}", (low, high))


def any_identity_of_another_version(conn: Connection, version: str) -> bool:
    """Whether some stored identity was worked out under knowledge other than `version`."""
    found = conn.execute(select(IdentityRow.device_id).where(IdentityRow.knowledge_version != version).limit(1))
    return found.first() is not None
