"""Raising and listing alerts. Everything that notices a condition calls `raise_alert`, in its own
transaction, so an alert is stored with the change that caused it or not at all; the same
condition raised twice (its dedupe key) is stored once. Delivery (webhooks, syslog) reads the
stored alerts; it never decides what is an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import Connection, Engine

from clearsite.core import contracts
from clearsite.core.alerts import ALERT_KINDS
from clearsite.core.errors import InputError
from clearsite.core.text import clean_text
from clearsite.store.alerts import StoredAlert, insert_alert, read_alerts, site_department
from clearsite.store.reads import EVERYTHING, SiteScope

__all__ = ["AlertView", "alert_json", "list_alerts", "raise_alert"]

AlertView = StoredAlert


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def raise_alert(session: Connection, *, kind: str, site_id: int | None, device_id: int | None, detail: str,
                at: datetime | None = None, dedupe_key: str | None = None, department_id: int | None = None
                ) -> int | None:
    """Store an alert in the caller's transaction; its id, or None when the same condition was raised before.

    `dedupe_key` names the condition (default: kind, site and device); `department_id` defaults to the
    site's department. `kind` must be one of core.alerts.ALERT_KINDS.
    """
    if kind not in ALERT_KINDS:
        raise ValueError(f"unknown alert kind {kind!r} (known: {', '.join(sorted(ALERT_KINDS))})")
    if department_id is None and site_id is not None:
        department_id = site_department(session, site_id)
    key = dedupe_key or f"{kind}:site={site_id}:device={device_id}"
    return insert_alert(session, kind=kind, department_id=department_id, site_id=site_id, device_id=device_id,
                        at=at or _now(), detail=clean_text(detail)[:2000], dedupe_key=key)


@dataclass(frozen=True, slots=True)
class AlertFilter:
    since: date | None = None
    kind: str | None = None


def list_alerts(engine_or_conn: Engine | Connection, scope: SiteScope = EVERYTHING, *, since: date | None = None,
                kind: str | None = None, after_id: int = 0, limit: int | None = None) -> list[StoredAlert]:
    """Alerts in the scope, oldest first, optionally since a day (inclusive) and of one kind."""
    if kind is not None and kind not in ALERT_KINDS:
        raise InputError(f"--kind {kind!r}: not an alert kind (known: {', '.join(sorted(ALERT_KINDS))})")
    start = datetime.combine(since, time.min) if since is not None else None
    if isinstance(engine_or_conn, Connection):
        return read_alerts(engine_or_conn, scope, since=start, kind=kind, after_id=after_id, limit=limit)
    with engine_or_conn.connect() as conn:
        return read_alerts(conn, scope, since=start, kind=kind, after_id=after_id, limit=limit)


def alert_json(alert: StoredAlert) -> contracts.Alert:
    """An alert in the `clearsite alerts --format json` shape (also /api/v1/alerts)."""
    return {"id": alert.id, "kind": alert.kind, "site": alert.site, "device_id": alert.device_id,
            "at": alert.at.isoformat(timespec="seconds"), "detail": alert.detail}
