"""Work orders: one per visit of the current plan, with a life cycle and extension requests.

planned → scheduled → in_progress → completed (every device claimed) → verified (every device
verified by a later observation), or cancelled. Recording a removal against an order moves it on
(`settle_orders`); a claim seen again moves a verified order back to completed.

`create_orders` reads the current plan: a visit gets an order keyed by its site and its number
there; re-planning updates orders that have not started (planned, scheduled) and cancels those
the plan no longer has, and leaves orders under way or done alone. The same plan twice changes
nothing. An extension request names a new due date and a reason; an approver grants or refuses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from clearsite.core import contracts
from clearsite.core.errors import ConflictError, InputError, NotFoundError
from clearsite.core.names import site_key
from clearsite.core.text import clean_text
from clearsite.formats.outputs import output_set
from clearsite.render.job_sheet import JobSheet, JobSheetRow, job_sheet_html, job_sheet_xlsx
from clearsite.services.verification import raise_overdue_orders
from clearsite.store import audit
from clearsite.store.orders import (
    OrderExtension,
    StoredOrder,
    add_extension,
    decide_extension,
    insert_order,
    order_extensions,
    read_orders,
    update_order,
)
from clearsite.store.plans import current_plan
from clearsite.store.reads import EVERYTHING, SiteScope
from clearsite.store.removals import read_removals
from clearsite.store.site_reads import list_sites
from clearsite.store.sites import find_site, load_sites
from clearsite.store.transactions import write_transaction

__all__ = [
    "NOT_STARTED",
    "ORDER_STATUSES",
    "cancel_order",
    "check_order_for_device",
    "complete_order",
    "create_orders",
    "decide_order_extension",
    "list_orders",
    "order_detail",
    "order_json",
    "request_extension",
    "schedule_order",
    "settle_orders",
    "start_order",
]

ORDER_STATUSES = ("planned", "scheduled", "in_progress", "completed", "verified", "cancelled")
NOT_STARTED = ("planned", "scheduled")
OPEN = ("planned", "scheduled", "in_progress")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _due(week: date) -> date:
    return week + timedelta(days=4)  # the Friday of the visit's week


def order_json(order: StoredOrder) -> contracts.Order:
    return {"id": order.id, "site": order.site, "week": order.week.isoformat(), "crew": order.crew,
            "status": order.status, "devices": list(order.devices), "due": order.due.isoformat()}


def _extension_json(e: OrderExtension) -> contracts.OrderExtension:
    return {"id": e.id, "order": e.order_id, "requested_at": e.requested_at.isoformat(timespec="seconds"),
            "requested_by": e.requested_by, "reason": e.reason, "previous_due": e.previous_due.isoformat(),
            "new_due": e.new_due.isoformat(), "status": e.status, "decided_by": e.decided_by,
            "decided_at": e.decided_at.isoformat(timespec="seconds") if e.decided_at else None}


# --------------------------------------------------------------------------- from the plan


def create_orders(engine: Engine, actor: str) -> contracts.OrdersCreated:
    """Orders from the current plan's visits (audited); running it again with the same plan changes nothing."""
    now = _now()
    with write_transaction(engine) as conn:
        stored = current_plan(conn)
        if stored is None:
            raise InputError("no removal plan is stored yet: run `clearsite plan` first")
        site_ids = {site_key(site.name): site_id for site_id, site in load_sites(conn).items()}
        existing = {(o.site_id, o.seq): o for o in read_orders(conn, EVERYTHING)}
        by_site: dict[int, list[Any]] = {}
        for visit in stored.plan.visits:
            site_id = site_ids.get(site_key(visit.site))
            if site_id is not None:  # a site deleted since the plan was made has nothing to visit
                by_site.setdefault(site_id, []).append(visit)
        counts = {"created": 0, "updated": 0, "cancelled": 0, "unchanged": 0}
        wanted: set[tuple[int, int]] = set()
        for site_id, visits in by_site.items():
            for seq, visit in enumerate(sorted(visits, key=lambda v: (v.week, v.crew)), start=1):
                wanted.add((site_id, seq))
                values = {"week": visit.week, "crew": visit.crew, "devices": sorted(int(d) for d in visit.devices),
                          "est_hours": round(float(visit.hours), 2), "est_cost": round(float(visit.cost), 2),
                          "due": _due(visit.week), "plan_id": stored.id}
                order = existing.get((site_id, seq))
                if order is None:
                    insert_order(conn, {"site_id": site_id, "seq": seq, "status": "planned", "note": None,
                                        "created_at": now, "updated_at": now, **values})
                    counts["created"] += 1
                elif order.status in NOT_STARTED and _differs(order, values):
                    update_order(conn, order.id, {**values, "updated_at": now})
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
        for key, order in existing.items():
            if key not in wanted and order.status in NOT_STARTED:
                update_order(conn, order.id, {"status": "cancelled", "updated_at": now,
                                              "note": f"not in the current plan (plan {stored.id})"})
                counts["cancelled"] += 1
        if counts["created"] or counts["updated"] or counts["cancelled"]:
            audit.record(conn, actor, "orders.create", f"plan:{stored.id}", None, counts)
        orders = [order_json(o) for o in read_orders(conn, EVERYTHING)]
    return {"plan_id": stored.id, **counts, "orders": orders}  # type: ignore[typeddict-item]


def _differs(order: StoredOrder, values: dict[str, Any]) -> bool:
    return (order.week, order.crew, order.devices, order.est_hours, order.est_cost, order.plan_id) != (
        values["week"], values["crew"], values["devices"], values["est_hours"], values["est_cost"], values["plan_id"])


# --------------------------------------------------------------------------- reading


def list_orders(engine: Engine, scope: SiteScope = EVERYTHING, *, site: str | None = None,
                status: str | None = None, today: date | None = None) -> list[StoredOrder]:
    """Orders in the scope (of a site, with a status); orders past due raise `order_overdue` on the way."""
    if status is not None and status not in ORDER_STATUSES:
        raise InputError(f"--status {status!r}: expected one of {', '.join(ORDER_STATUSES)}")
    with write_transaction(engine) as conn:
        raise_overdue_orders(conn, today or date.today(), _now())
        site_id = find_site(conn, site) if site is not None else None
        return read_orders(conn, scope, site_id=site_id, statuses=[status] if status else None)


def _one(conn: Connection, scope: SiteScope, order_id: int) -> StoredOrder:
    found = read_orders(conn, scope, order_id=order_id)
    if not found:
        raise NotFoundError(f"work order {order_id} not found")
    return found[0]


def order_detail(engine: Engine, scope: SiteScope, order_id: int) -> contracts.OrderDetail:
    with engine.connect() as conn:
        return _detail(conn, _one(conn, scope, order_id))


def _detail(conn: Connection, order: StoredOrder) -> contracts.OrderDetail:
    claims = read_removals(conn, device_ids=order.devices)
    return {**order_json(order), "est_hours": order.est_hours, "est_cost": order.est_cost,
            "note": order.note, "removals": [{"device_id": c.device_id, "status": c.status} for c in claims],
            "extensions": [_extension_json(e) for e in order_extensions(conn, [order.id])]}


def check_order_for_device(conn: Connection, scope: SiteScope, order_id: int, device_id: int) -> None:
    """A removal recorded against an order must be of one of its devices, on an order not cancelled."""
    order = _one(conn, scope, order_id)
    if device_id not in order.devices:
        raise InputError(f"--order {order_id}: device {device_id} is not on that work order")
    if order.status == "cancelled":
        raise ConflictError(f"work order {order_id} is cancelled")


# --------------------------------------------------------------------------- life cycle


def _move(engine: Engine, actor: str, scope: SiteScope, order_id: int, allowed: tuple[str, ...], to: str,
          note: str | None = None) -> contracts.OrderDetail:
    with write_transaction(engine) as conn:
        order = _one(conn, scope, order_id)
        if order.status == to:
            return _detail(conn, order)
        if order.status not in allowed:
            raise ConflictError(f"work order {order_id} is {order.status.replace('_', ' ')}; it cannot be moved to "
                                f"{to.replace('_', ' ')}")
        if to == "completed":
            claims = {c.device_id: c.status for c in read_removals(conn, device_ids=order.devices)}
            missing = [d for d in order.devices if claims.get(d) not in ("claimed", "verified")]
            if missing:
                raise ConflictError(f"work order {order_id}: no removal recorded for device"
                                    f"{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))}")
        values: dict[str, Any] = {"status": to, "updated_at": _now()}
        if note:
            values["note"] = clean_text(note)[:1000]
        update_order(conn, order_id, values)
        audit.record(conn, actor, f"order.{to}", f"order:{order_id}", {"status": order.status},
                     {"status": to, **({"note": values["note"]} if note else {})})
        if to == "completed":
            settle_orders(conn, {order_id}, _now())
        return _detail(conn, _one(conn, scope, order_id))


def schedule_order(engine: Engine, actor: str, scope: SiteScope, order_id: int) -> contracts.OrderDetail:
    return _move(engine, actor, scope, order_id, ("planned",), "scheduled")


def start_order(engine: Engine, actor: str, scope: SiteScope, order_id: int) -> contracts.OrderDetail:
    return _move(engine, actor, scope, order_id, NOT_STARTED, "in_progress")


def complete_order(engine: Engine, actor: str, scope: SiteScope, order_id: int) -> contracts.OrderDetail:
    return _move(engine, actor, scope, order_id, OPEN, "completed")


def cancel_order(engine: Engine, actor: str, scope: SiteScope, order_id: int, reason: str) -> contracts.OrderDetail:
    if not reason.strip():
        raise InputError("--reason: say why the order is cancelled")
    return _move(engine, actor, scope, order_id, OPEN, "cancelled", reason)


def settle_orders(conn: Connection, order_ids: Iterable[int], at: datetime) -> None:
    """Move orders on from their devices' claims: started, completed, verified (or back to completed)."""
    ids = sorted(set(order_ids))
    if not ids:
        return
    for order in read_orders(conn, EVERYTHING, statuses=("planned", "scheduled", "in_progress", "completed",
                                                         "verified")):
        if order.id not in ids:
            continue
        claims = {c.device_id: c.status for c in read_removals(conn, device_ids=order.devices)}
        statuses = [claims.get(d) for d in order.devices]
        if statuses and all(s == "verified" for s in statuses):
            to = "verified"
        elif statuses and all(s in ("claimed", "verified") for s in statuses):
            to = "completed"
        elif any(s is not None for s in statuses):
            to = "in_progress" if order.status in OPEN else "completed"
        else:
            to = order.status
        if to != order.status:
            update_order(conn, order.id, {"status": to, "updated_at": at})


# --------------------------------------------------------------------------- extensions


def request_extension(engine: Engine, actor: str, scope: SiteScope, order_id: int, new_due: date, reason: str
                      ) -> contracts.OrderDetail:
    """Ask for a later due date, with a reason; it takes effect when approved."""
    reason = clean_text(reason).strip()
    if not reason:
        raise InputError("--reason: an extension needs a reason")
    with write_transaction(engine) as conn:
        order = _one(conn, scope, order_id)
        if order.status not in OPEN:
            raise ConflictError(f"work order {order_id} is {order.status.replace('_', ' ')}: nothing to extend")
        if new_due <= order.due:
            raise InputError(f"--to {new_due}: an extension must move the due date ({order.due}) later")
        pending = [e for e in order_extensions(conn, [order_id]) if e.status == "requested"]
        if pending:
            raise ConflictError(f"work order {order_id} already has extension request {pending[0].id} waiting")
        extension_id = add_extension(conn, {"order_id": order_id, "requested_at": _now(), "requested_by": actor,
                                            "reason": reason[:2000], "previous_due": order.due, "new_due": new_due,
                                            "status": "requested"})
        audit.record(conn, actor, "order.extension_request", f"order:{order_id}", {"due": order.due},
                     {"extension": extension_id, "new_due": new_due, "reason": reason[:2000]})
        return _detail(conn, order)


def decide_order_extension(engine: Engine, actor: str, scope: SiteScope, extension_id: int, approve: bool
                           ) -> contracts.OrderDetail:
    """Grant (the order's due date moves) or refuse an extension request; the approver is the caller."""
    with write_transaction(engine) as conn:
        found = order_extensions(conn, extension_id=extension_id)
        if not found:
            raise NotFoundError(f"extension request {extension_id} not found")
        extension = found[0]
        order = _one(conn, scope, extension.order_id)
        if extension.status != "requested":
            raise ConflictError(f"extension request {extension_id} was already {extension.status}")
        status = "approved" if approve else "refused"
        now = _now()
        decide_extension(conn, extension_id, status, actor, now)
        if approve:
            update_order(conn, order.id, {"due": extension.new_due, "updated_at": now})
        audit.record(conn, actor, f"order.extension_{status}", f"order:{order.id}", {"due": order.due},
                     {"extension": extension_id, "due": extension.new_due if approve else order.due})
        return _detail(conn, _one(conn, scope, order.id))


# --------------------------------------------------------------------------- job sheets


def job_sheet(engine: Engine, scope: SiteScope, order_id: int) -> JobSheet:
    """What a crew takes to site for one order: its devices, where they are, and what replaces each."""
    from clearsite.services.devices import devices_page

    with engine.connect() as conn:
        order = _one(conn, scope, order_id)
        department = next((s["department"] for s in list_sites(conn, scope) if s["id"] == order.site_id), "")
        views = {v.id: v for v in devices_page(conn, scope, site_id=order.site_id, limit=100_000, with_evidence=False)
                 if v.id in set(order.devices)}
        claims = {c.device_id: c for c in read_removals(conn, device_ids=order.devices)}
    rows = []
    for device_id in order.devices:
        view = views.get(device_id)
        claim = claims.get(device_id)
        replacement = "a device not subject to the National Intelligence Law"
        if claim is not None and claim.replacement:
            r = claim.replacement
            replacement = " ".join(str(v) for v in (r.get("brand"), r.get("model")) if v)
        rows.append(JobSheetRow(device_id, view.location if view else None,
                                view.identity.label_brand if view else None, view.identity.model if view else None,
                                view.serial if view else None, view.mac if view else None, view.ip if view else None,
                                replacement, claim.status if claim else None))
    return JobSheet(order.id, order.site, department, order.week, order.due, order.crew, order.status,
                    order.est_hours, order.est_cost, tuple(rows))


def write_job_sheet(engine: Engine, scope: SiteScope, order_id: int, out_dir: Path) -> list[Path]:
    """order-N.html and order-N.xlsx in `out_dir`, written whole or not at all."""
    sheet = job_sheet(engine, scope, order_id)
    html, xlsx = f"order-{order_id}.html", f"order-{order_id}.xlsx"
    with output_set(out_dir, [html, xlsx]) as outputs:
        outputs.write_text(html, job_sheet_html(sheet))
        job_sheet_xlsx(sheet, outputs.path(xlsx))
    return [out_dir / html, out_dir / xlsx]


def check_overdue(engine: Engine, today: date | None = None) -> list[int | None]:
    """Raise `order_overdue` for orders past due at `today` (the service clock); the alerts raised."""
    with write_transaction(engine) as conn:
        return raise_overdue_orders(conn, today or date.today(), _now())


def job_sheet_page(engine: Engine, scope: SiteScope, order_id: int) -> str:
    """The job sheet as one printable HTML page (the web serves it)."""
    return job_sheet_html(job_sheet(engine, scope, order_id))


def job_sheet_workbook(engine: Engine, scope: SiteScope, order_id: int) -> bytes:
    """The job sheet as XLSX bytes (the web serves it)."""
    import tempfile

    sheet = job_sheet(engine, scope, order_id)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sheet.xlsx"
        job_sheet_xlsx(sheet, path)
        return path.read_bytes()
