"""Departments' signing keys: the public half and where the private half is kept (never the private key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from clearsite.store.bulk import new_id
from clearsite.store.delivery_tables import DepartmentKeyRow
from clearsite.store.tables import Department

__all__ = ["StoredKey", "add_key", "current_key", "department_id"]


@dataclass(frozen=True, slots=True)
class StoredKey:
    id: int
    department_id: int
    department: str
    key_id: str
    fingerprint: str
    public_pem: str
    private_key_path: str
    created_at: datetime


def department_id(conn: Connection, name: str) -> int | None:
    found: int | None = conn.scalar(select(Department.id).where(Department.name == name))
    return found


def add_key(conn: Connection, *, department_id: int, key_id: str, fingerprint: str, public_pem: str,
            private_key_path: str, created_by: str, now: datetime) -> int:
    """Record a new key as the department's current one; the keys it had before are retired (kept, so what
    they signed can still be checked)."""
    conn.execute(update(DepartmentKeyRow).where(DepartmentKeyRow.department_id == department_id,
                                                DepartmentKeyRow.retired_at.is_(None)).values(retired_at=now))
    return new_id(conn.execute(insert(DepartmentKeyRow).values(
        department_id=department_id, key_id=key_id, fingerprint=fingerprint, public_pem=public_pem,
        private_key_path=private_key_path, created_at=now, created_by=created_by[:200])))


def current_key(conn: Connection, department_id: int) -> StoredKey | None:
    row = conn.execute(
        select(DepartmentKeyRow.id, DepartmentKeyRow.department_id, Department.name, DepartmentKeyRow.key_id,
               DepartmentKeyRow.fingerprint, DepartmentKeyRow.public_pem, DepartmentKeyRow.private_key_path,
               DepartmentKeyRow.created_at)
        .join(Department, Department.id == DepartmentKeyRow.department_id)
        .where(DepartmentKeyRow.department_id == department_id, DepartmentKeyRow.retired_at.is_(None))
        .order_by(DepartmentKeyRow.id.desc()).limit(1)).first()
    return StoredKey(*row) if row is not None else None
