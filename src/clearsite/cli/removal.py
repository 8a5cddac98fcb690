"""`clearsite removal record`: a removal claim with its evidence; a later scan verifies it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearsite.cli.errors import HandledGroup
from clearsite.cli.options import (
    DbOption,
    Format,
    FormatOption,
    actor,
    open_engine,
    parse_date,
    print_json,
    say,
)
from clearsite.core.errors import UsageError

app = typer.Typer(cls=HandledGroup, help="Record removals with their evidence; later observation verifies them.")


@app.command("record")
def removal_record(
    device_id: Annotated[int, typer.Argument(help="The device's id (see `clearsite devices`).", min=1)],
    on: Annotated[str, typer.Option("--on", help="The day it was taken out (YYYY-MM-DD).")],
    order: Annotated[int | None, typer.Option("--order", help="The work order it was done under.", min=1)] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who took it out (a person or a contractor).")] = None,
    disposal_ref: Annotated[str | None, typer.Option("--disposal-ref",
                                                     help="Disposal or data-wipe certificate reference.")] = None,
    cost: Annotated[float | None, typer.Option("--cost", help="Actual cost in pounds.")] = None,
    replacement_brand: Annotated[str | None, typer.Option("--replacement-brand")] = None,
    replacement_model: Annotated[str | None, typer.Option("--replacement-model")] = None,
    replacement_serial: Annotated[str | None, typer.Option("--replacement-serial")] = None,
    replacement_mac: Annotated[str | None, typer.Option("--replacement-mac")] = None,
    attach: Annotated[list[Path] | None, typer.Option("--attach", help="A photo or certificate (repeatable).")] = None,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Record a removal claim: date, who, disposal reference, cost, files, and what replaced the device.

    The replacement is identified and assessed at once: a NIL-subject one is refused; one not identified
    at a sensitive site is recorded and raises a replacement_not_cleared alert."""
    from clearsite.services.knowledge import load_knowledge
    from clearsite.services.removal import EVERYTHING, ReplacementIn, read_attachment, record_removal

    named = (replacement_brand, replacement_model, replacement_serial, replacement_mac)
    replacement = None
    if any(named):
        if not (replacement_brand and replacement_model):
            raise UsageError("--replacement-brand and --replacement-model go together (serial and MAC are optional)")
        replacement = ReplacementIn(*named)
    attachments = [read_attachment(path) for path in attach or []]
    result = record_removal(open_engine(db), load_knowledge(), actor(), EVERYTHING, device_id,
                            removed_on=parse_date(on, "--on"), order_id=order, removed_by=by, disposal_ref=disposal_ref,
                            cost=cost, replacement=replacement, attachments=attachments)
    if format == Format.json:
        print_json(result)
        return
    removal = result["removal"]
    files = removal["evidence"]["files"]
    say(f"device {device_id}: removal on {removal['claimed_on']} recorded as {removal['status']}"
        f"{f' with {len(files)} file(s)' if files else ''}; a later scan of its site verifies it")
    for alert in result["alerts"]:
        say(f"alert {alert} raised: see `clearsite alerts`")
