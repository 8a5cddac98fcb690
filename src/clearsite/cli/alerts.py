"""`clearsite alerts`: what needs a person — removed devices seen again, new NIL-subject kit, late orders."""

from __future__ import annotations

from typing import Annotated

import typer

from clearsite.cli.options import (
    DbOption,
    Format,
    FormatOption,
    add_data_row,
    data_table,
    open_engine,
    parse_date,
    print_json,
    print_table,
)


def alerts(
    since: Annotated[str | None, typer.Option("--since", help="Only alerts raised on or after this day (YYYY-MM-DD).")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only alerts of this kind (e.g. contradicted).")] = None,
    today: Annotated[str | None, typer.Option("--today", help="Check orders' due dates at this date; default today.")] = None,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """List alerts, oldest first (orders past due are checked first and raise order_overdue)."""
    from clearsite.services.alerts import alert_json, list_alerts
    from clearsite.services.orders import check_overdue

    engine = open_engine(db)
    check_overdue(engine, parse_date(today, "--today"))
    rows = [alert_json(a) for a in list_alerts(engine, since=parse_date(since, "--since") if since else None,
                                               kind=kind)]
    if format == Format.json:
        print_json(rows)
        return
    table = data_table("id", "raised", "kind", "site", "device", "detail")
    for r in rows:
        add_data_row(table, str(r["id"]), r["at"], r["kind"], r["site"] or "—",
                     str(r["device_id"]) if r["device_id"] is not None else "—", r["detail"])
    print_table(table)
