"""`clearsite review`: settle a device's verdict (or many at once), with a reason, or undo a decision."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearsite.cli.options import (
    AsOfOption,
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
from clearsite.core.errors import UsageError
from clearsite.core.review import Decision


def review(
    device_ids: Annotated[list[int] | None, typer.Argument(metavar="[DEVICE_ID]...",
                                                           help="The devices to decide on.")] = None,
    nil_subject: Annotated[str | None, typer.Option("--nil-subject", help="yes, no or review.")] = None,
    producer: Annotated[str | None, typer.Option("--producer", help="Who made it: a knowledge-base producer id.")
                        ] = None,
    device_class: Annotated[str | None, typer.Option("--device-class", help="What it is, e.g. ip_camera.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="The model seen on site.")] = None,
    make: Annotated[str | None, typer.Option("--make", help="The make (badge) seen on site.")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (required).")] = None,
    withdraw: Annotated[bool, typer.Option("--withdraw", help="Undo: the machine's verdict stands again.")] = False,
    ids_from: Annotated[Path | None, typer.Option("--ids-from", help="A file of device ids, one a line.")] = None,
    site: Annotated[str | None, typer.Option("--site", help="Decide on the devices of this site …")] = None,
    where_producer: Annotated[str | None, typer.Option("--where-producer",
                                                       help="… whose producer is this id ('none': unknown) …")] = None,
    where_nil: Annotated[str | None, typer.Option("--where-nil", help="… whose NIL verdict is this …")] = None,
    pending: Annotated[bool, typer.Option("--pending", help="… that are waiting for a person.")] = False,
    history: Annotated[bool, typer.Option("--history", help="Show the device's decisions instead.")] = False,
    as_of: AsOfOption = None,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Settle verdicts by hand: confirm or override the producer, NIL verdict or class, with a reason.

    Omitted fields keep the machine's value. A later decision replaces an earlier one; --withdraw
    returns a device to the machine's verdict. Name devices by id, with --ids-from, or by a filter
    (--site, --where-producer, --where-nil, --pending: all given must hold).
    """
    from clearsite.services import review as service
    from clearsite.services.knowledge import load_knowledge

    ids = list(device_ids or [])
    engine = open_engine(db)
    if history:
        if len(ids) != 1:
            raise UsageError("--history: name one device")
        _print_history(service.history(engine, service.EVERYTHING, ids[0]), format)
        return
    knowledge = load_knowledge()
    request = service.check_request(service.DecisionRequest(reason or "", nil_subject, producer, device_class, model,
                                                            make, withdraw), knowledge)
    filtered = any((site, where_producer, where_nil, pending))
    if ids_from is not None:
        ids += service.ids_from_file(ids_from)
    if ids and filtered:
        raise UsageError("name devices (DEVICE_ID, --ids-from) or filter them (--site, --where-…, --pending), not both")
    when = parse_date(as_of)
    if filtered:
        ids = service.select_devices(engine, knowledge, service.EVERYTHING,
                                     service.Selection(site, where_producer, where_nil, pending), as_of=when)
        if not ids:
            say("no devices match")
    elif not ids:
        raise UsageError("name devices (DEVICE_ID, --ids-from) or filter them (--site, --where-producer, "
                         "--where-nil, --pending)")
    made = service.decide(engine, knowledge, service.EVERYTHING, ids, request, actor(), as_of=when) if ids else []
    answer = service.recorded_json(made, request.withdraw)
    if format == Format.json:
        print_json(answer)
        return
    table = data_table("device", "NIL now", "producer", "class", "decision")
    for row in answer["devices"]:
        decision = row["decision"]
        if decision is None:
            add_data_row(table, str(row["id"]), row["nil_subject"], "—", "—", "withdrawn")
        else:
            add_data_row(table, str(row["id"]), row["nil_subject"], decision["producer"] or "—",
                         decision["device_class"] or "—", "settled")
    print_table(table)
    say(f"{answer['decided']} decision(s) recorded")


def _print_history(decisions: list[Decision], format: Format) -> None:
    from clearsite.services.review import history_json

    rows = history_json(decisions)
    if format == Format.json:
        print_json(rows)
        return
    table = data_table("when", "by", "action", "NIL", "producer", "class", "seen", "reason")
    for row in rows:
        seen = " ".join(filter(None, (row["make"], row["model"]))) or "—"
        add_data_row(table, row["at"], row["by"], row["action"], row["nil_subject"] or "—", row["producer"] or "—",
                     row["device_class"] or "—", seen, row["reason"])
    print_table(table)
