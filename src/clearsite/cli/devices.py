"""`clearsite devices|identify|assess|report`: who made each device, what the policy says, the report."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

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
    site: Annotated[str | None, typer.Option("--site", help="Only this site (by name).")] = None,
    q: Annotated[str | None, typer.Option("--q", help="Search: IP, MAC, serial, model, badge, producer, site or "
                                          "location (any part of them).")] = None,
    department: Annotated[str | None, typer.Option("--department", help="Only this department's sites.")] = None,
    sensitivity: Annotated[str | None, typer.Option("--sensitivity", help="sensitive, other, holds_secret, dv_hub, "
                                                    "ministerial or socpa.")] = None,
    producer: Annotated[str | None, typer.Option("--producer", help="A producer's knowledge-base id, or none.")] = None,
    nil_subject: Annotated[str | None, typer.Option("--nil-subject", help="yes, no, review or unknown.")] = None,
    device_class: Annotated[str | None, typer.Option("--device-class", help="e.g. ip_camera, nvr.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Worst finding status: breach, overdue, due, review, "
                                               "advisory, compliant, or none.")] = None,
    review_pending: Annotated[bool, typer.Option("--review-pending", help="Only devices awaiting a review "
                                                 "decision.")] = False,
    first_seen_from: Annotated[str | None, typer.Option("--first-seen-from", help="YYYY-MM-DD")] = None,
    first_seen_to: Annotated[str | None, typer.Option("--first-seen-to", help="YYYY-MM-DD")] = None,
    last_seen_from: Annotated[str | None, typer.Option("--last-seen-from", help="YYYY-MM-DD")] = None,
    last_seen_to: Annotated[str | None, typer.Option("--last-seen-to", help="YYYY-MM-DD")] = None,
    sort: Annotated[str, typer.Option("--sort", help="id, site, ip, mac, serial, model, brand, producer, class, "
                                      "first_seen, last_seen or location; -name sorts descending.")] = "id",
    as_of: AsOfOption = None,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """List devices with who made them and the NIL verdict; search and filter as the web inventory does."""
    from clearsite.services import inventory
    from clearsite.services.devices import device_json, iter_devices
    from clearsite.services.knowledge import load_knowledge, short_name

    knowledge = load_knowledge()
    when = parse_date(as_of)
    engine = open_engine(db)
    dates = {name: parse_date(value, "--" + name.replace("_", "-")) if value else None for name, value in (
        ("first_seen_from", first_seen_from), ("first_seen_to", first_seen_to), ("last_seen_from", last_seen_from),
        ("last_seen_to", last_seen_to))}
    filtered = any((q, department, sensitivity, producer, nil_subject, device_class, status, review_pending,
                    *dates.values())) or sort != "id"
    if filtered:
        site_id, department_id = inventory.named_site_and_department(engine, site, department)
        chosen = inventory.device_filter(knowledge, when, q=q, site_id=site_id, department_id=department_id,
                                         sensitivity=sensitivity, producer=producer, nil_subject=nil_subject,
                                         device_class=device_class, status=status, review_pending=review_pending,
                                         **dates)
        key, descending = inventory.parse_sort(sort)
        rows: Iterator[dict[str, Any]] = inventory.iter_inventory(
            engine, inventory.EVERYTHING, knowledge, when, chosen, sort=key, descending=descending,
            with_evidence=format == Format.json, plain=True)
    else:  # the whole estate in id order, as before: the fastest path for scripts
        rows = (dict(device_json(view, knowledge, when)) for view, _ in iter_devices(engine, site))
    if format == Format.json:
        print_json_stream(rows)
        return
    table = data_table("id", "site", "badge", "model", "class", "producer", "NIL", "conf.")
    for row in rows:
        producer_id = row["producer"]["id"] if row["producer"] else None
        add_data_row(table, str(row["id"]), row["site"], row["label_brand"] or "—", row["model"] or "—",
                     row["device_class"], short_name(knowledge, producer_id) if producer_id else "—",
                     row["nil_subject"], f"{row['confidence']:.2f}")
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


