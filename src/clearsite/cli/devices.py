"""`clearsite devices|identify|assess|report`: who made each device, what the policy says, the report."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from clearsite.cli.options import (
    AsOfOption,
    DbOption,
    Format,
    FormatOption,
    PolicyOption,
    add_data_row,
    data_table,
    open_engine,
    parse_date,
    print_json,
    print_json_stream,
    print_table,
    say,
    stdout_console,
)
from clearsite.core.errors import ClearsiteError, UsageError

T = TypeVar("T")


def devices(
    site: Annotated[str | None, typer.Option("--site")] = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """List devices with who made them, the NIL verdict, and the evidence."""
    from clearsite.services.devices import device_json, iter_devices
    from clearsite.services.knowledge import load_knowledge, short_name

    knowledge = load_knowledge()
    when = parse_date(as_of)
    rows = (device_json(view, knowledge, when) for view, _ in iter_devices(open_engine(db), site))
    if format == Format.json:
        print_json_stream(rows)
        return
    table = data_table("id", "site", "badge", "model", "class", "producer", "NIL", "conf.")
    for row in rows:
        producer = short_name(knowledge, row["producer"]["id"]) if row["producer"] else "—"
        add_data_row(table, str(row["id"]), row["site"], row["label_brand"] or "—", row["model"] or "—",
                     row["device_class"], producer, row["nil_subject"], f"{row['confidence']:.2f}")
    print_table(table)


def identify_one(
    brand: Annotated[str | None, typer.Option("--brand")] = None,
    model: Annotated[str | None, typer.Option("--model")] = None,
    serial: Annotated[str | None, typer.Option("--serial")] = None,
    mac: Annotated[str | None, typer.Option("--mac")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    firmware: Annotated[str | None, typer.Option("--firmware")] = None,
    banner: Annotated[list[str] | None, typer.Option("--banner", help="Any banner text (repeatable).")] = None,
    installed: Annotated[str | None, typer.Option("--installed", help="Install date YYYY-MM-DD.")] = None,
    as_of: AsOfOption = None,
    format: FormatOption = Format.json,
) -> None:
    """Identify one item without touching the database."""
    from clearsite.services.knowledge import identify_one as identify

    result = identify(brand=brand, model=model, serial=serial, mac=mac, description=description,
                      firmware=firmware, banners=banner or [],
                      installed=parse_date(installed, "--installed") if installed else None,
                      as_of=parse_date(as_of))
    if format == Format.json:
        print_json(result)
    else:
        stdout_console().print(result)


def assess(
    as_of: AsOfOption = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Policy id (default: by jurisdiction).")] = None,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Assess every device against the policy and store the findings."""
    from clearsite.services import assessment
    from clearsite.services.knowledge import load_knowledge

    when = parse_date(as_of)
    engine = open_engine(db)
    counts = _policy_known(lambda: assessment.assess_all(engine, load_knowledge(), when, policy))
    if format == Format.json:
        print_json_stream(assessment.stored_findings(engine, policy))
        return
    table = data_table("policy", "obligation", "status", "devices")
    for (pol, obligation, status), count in sorted(counts.items()):
        add_data_row(table, pol, obligation, status, str(count))
    print_table(table)


def report(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for report.html, devices.csv, report.xlsx, report.json.")],
    as_of: AsOfOption = None,
    policy: PolicyOption = None,
    db: DbOption = None,
) -> None:
    """Write the internal findings report (not for publication: it names sites)."""
    from clearsite.services import assessment
    from clearsite.services.knowledge import load_knowledge

    when = parse_date(as_of)
    files = _policy_known(lambda: assessment.write_report(open_engine(db), load_knowledge(), out_dir, when, policy))
    say(f"wrote {files.html}, {files.csv}, {files.xlsx}, {files.json}")
    sys.stdout.write(f"{files.html}\n")


def _policy_known(run: Callable[[], T]) -> T:
    """An unknown --policy arrives as a plain ValueError from the assessment; say it as bad input."""
    try:
        return run()
    except ClearsiteError:
        raise
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


