"""`clearsite orders …` and `clearsite status-report`: work orders from the plan, and progress from proof."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clearsite.cli.errors import HandledGroup
from clearsite.cli.options import (
    DbOption,
    Format,
    FormatOption,
    actor,
    add_data_row,
    data_table,
    open_engine,
    parse_date,
    print_json,
    print_table,
    say,
)

if TYPE_CHECKING:
    from clearsite.core import contracts

app = typer.Typer(cls=HandledGroup, help="Work orders: one per visit of the current plan, from planned to verified.")

OrderId = Annotated[int, typer.Argument(help="The work order's id (see `clearsite orders list`).", min=1)]
TodayOption = Annotated[str | None, typer.Option("--today", help="Check due dates at this date (YYYY-MM-DD); default today.")]


def _print_orders(rows: list[contracts.Order], format: Format) -> None:
    if format == Format.json:
        print_json(rows)
        return
    table = data_table("id", "site", "week", "crew", "status", "devices", "due")
    for r in rows:
        add_data_row(table, str(r["id"]), r["site"], r["week"], r["crew"], r["status"].replace("_", " "),
                     str(len(r["devices"])), r["due"])
    print_table(table)


def _print_detail(detail: contracts.OrderDetail, format: Format) -> None:
    if format == Format.json:
        print_json(detail)
        return
    say(f"work order {detail['id']} at {detail['site']}: {detail['status'].replace('_', ' ')}, week of "
        f"{detail['week']}, crew {detail['crew']}, due {detail['due']}, {len(detail['devices'])} device(s), "
        f"est. {detail['est_hours']:.1f} h / £{detail['est_cost']:,.0f}")
    claims = {r["device_id"]: r["status"] for r in detail["removals"]}
    table = data_table("device", "removal")
    for device in detail["devices"]:
        add_data_row(table, str(device), claims.get(device, "—"))
    print_table(table)
    for e in detail["extensions"]:
        say(f"extension {e['id']}: to {e['new_due']} ({e['status']}) — {e['reason']}")


@app.command("create")
def orders_create(db: DbOption = None, format: FormatOption = Format.table) -> None:
    """Make or update orders from the current plan (orders under way or done are left alone)."""
    from clearsite.services.orders import create_orders

    result = create_orders(open_engine(db), actor())
    if format == Format.json:
        print_json(result)
        return
    say(f"plan {result['plan_id']}: {result['created']} order(s) created, {result['updated']} updated, "
        f"{result['cancelled']} cancelled, {result['unchanged']} unchanged")
    _print_orders(result["orders"], format)


@app.command("list")
def orders_list(
    site: Annotated[str | None, typer.Option("--site", help="Only this site's orders.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="planned, scheduled, in_progress, completed, "
                                                                "verified or cancelled.")] = None,
    today: TodayOption = None,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """List work orders; those past due raise an order_overdue alert."""
    from clearsite.services.orders import list_orders, order_json

    orders = list_orders(open_engine(db), site=site, status=status, today=parse_date(today, "--today"))
    _print_orders([order_json(o) for o in orders], format)


@app.command("show")
def orders_show(order_id: OrderId, db: DbOption = None, format: FormatOption = Format.table) -> None:
    """One order: its devices and their removals, and its extension requests."""
    from clearsite.services.orders import EVERYTHING, order_detail

    _print_detail(order_detail(open_engine(db), EVERYTHING, order_id), format)


def _move(name: str, order_id: int, db: str | None, *extra: str) -> None:
    from clearsite.services import orders
    from clearsite.services.orders import EVERYTHING

    engine = open_engine(db)
    if name == "cancel":
        detail = orders.cancel_order(engine, actor(), EVERYTHING, order_id, extra[0])
    else:
        detail = getattr(orders, f"{name}_order")(engine, actor(), EVERYTHING, order_id)
    _say_status(detail)


def _say_status(detail: contracts.OrderDetail) -> None:
    say(f"work order {detail['id']} at {detail['site']} is {detail['status'].replace('_', ' ')}, due {detail['due']}")


@app.command("schedule")
def orders_schedule(order_id: OrderId, db: DbOption = None) -> None:
    """planned → scheduled (the site has agreed the visit)."""
    _move("schedule", order_id, db)


@app.command("start")
def orders_start(order_id: OrderId, db: DbOption = None) -> None:
    """planned or scheduled → in progress (recording a removal against the order does this too)."""
    _move("start", order_id, db)


@app.command("complete")
def orders_complete(order_id: OrderId, db: DbOption = None) -> None:
    """→ completed: every device of the order has a removal recorded (it is verified by a later scan)."""
    _move("complete", order_id, db)


@app.command("cancel")
def orders_cancel(order_id: OrderId,
                  reason: Annotated[str, typer.Option("--reason", help="Why the visit will not happen.")],
                  db: DbOption = None) -> None:
    """Cancel an order that is not completed."""
    _move("cancel", order_id, db, reason)


@app.command("extend")
def orders_extend(
    order_id: OrderId,
    to: Annotated[str, typer.Option("--to", help="The new due date (YYYY-MM-DD).")],
    reason: Annotated[str, typer.Option("--reason", help="Why more time is needed (supply, access, …).")],
    db: DbOption = None,
) -> None:
    """Request an extension of an order's due date; an approver grants or refuses it."""
    from clearsite.services.orders import EVERYTHING, request_extension

    detail = request_extension(open_engine(db), actor(), EVERYTHING, order_id, parse_date(to, "--to"), reason)
    waiting = next(e for e in reversed(detail["extensions"]) if e["status"] == "requested")
    say(f"extension request {waiting['id']} for work order {order_id}: to {waiting['new_due']}, waiting for approval")


@app.command("approve-extension")
def orders_approve_extension(
    extension_id: Annotated[int, typer.Argument(help="The extension request's id (see `orders show`).", min=1)],
    refuse: Annotated[bool, typer.Option("--refuse", help="Refuse the request instead.")] = False,
    db: DbOption = None,
) -> None:
    """Grant an extension request (the order's due date moves), or refuse it; you are recorded as the approver."""
    from clearsite.services.orders import EVERYTHING, decide_order_extension

    _say_status(decide_order_extension(open_engine(db), actor(), EVERYTHING, extension_id, not refuse))


@app.command("sheet")
def orders_sheet(order_id: OrderId,
                 out: Annotated[Path, typer.Option("--out", help="Folder for order-N.html and order-N.xlsx.")],
                 db: DbOption = None) -> None:
    """Write the crew's job sheet for an order (printable HTML and XLSX)."""
    from clearsite.services.orders import EVERYTHING, write_job_sheet

    paths = write_job_sheet(open_engine(db), EVERYTHING, order_id, out)
    say("wrote " + ", ".join(str(p) for p in paths))
    sys.stdout.write(f"{paths[0]}\n")


def status_report(
    out: Annotated[Path | None, typer.Option("--out", help="Folder for status-report.html and .json.")] = None,
    today: TodayOption = None,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """The programme office's statement: per site not started / in progress / claimed / verified, share removed,
    spend against budget per financial year, extensions granted."""
    from clearsite.services.status_report import build_status_report, write_status_report

    report = build_status_report(open_engine(db), today=parse_date(today, "--today"))
    if out is not None:
        paths = write_status_report(report, out)
        say("wrote " + ", ".join(str(p) for p in paths))
    if format == Format.json:
        print_json(report)
        return
    totals = report["totals"]
    say(f"as of {report['as_of']}: {totals['verified']} of {totals['affected']} affected devices verified removed "
        f"({100 * report['share_removed']:.1f}%); {totals['claimed']} claimed, not yet verified; "
        f"{totals['contradicted']} claimed but seen again; {totals['sites_verified']} of {totals['sites']} sites clear")
    table = data_table("site", "department", "state", "affected", "claimed", "verified", "seen again", "removed")
    for s in report["sites"]:
        add_data_row(table, s["site"], s["department"], s["state"].replace("_", " "), str(s["affected"]),
                     str(s["claimed"]), str(s["verified"]), str(s["contradicted"]), f"{100 * s['share_removed']:.0f}%")
    print_table(table)
    spend = data_table("year", "budget", "planned", "ordered", "actual")
    for y in report["spend"]:
        spend.add_row(*(str(y["fy"]), *("—" if y[k] is None else f"£{y[k]:,.0f}"
                                         for k in ("budget", "planned", "ordered", "actual"))))
    print_table(spend)
    ext = report["extensions"]
    say(f"extensions: {ext['approved']} granted, {ext['refused']} refused, {ext['waiting']} waiting")
