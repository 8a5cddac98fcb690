"""`clearsite import register|nmap|masscan|switch|vms`: files as observations at sites."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from clearsite.cli.errors import HandledGroup
from clearsite.cli.options import DbOption, Format, FormatOption, SiteOption, open_engine, print_json, say
from clearsite.core.contracts import RegisterImportSummary, ScannerFileImportSummary, VmsImportSummary

app = typer.Typer(cls=HandledGroup, help="Import registers and scanner output as observations.")


@app.command("register")
def import_register(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX asset register.")],
    site: Annotated[str | None, typer.Option("--site", help="Place every row at this site.")] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="YAML: 'Header as written: field'.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse the whole file if any row is bad.")] = False,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Import an asset register; junk rows are reported with their row numbers and skipped."""
    from clearsite.services.file_imports import import_register_file

    report = import_register_file(open_engine(db), file, site=site, mapping=mapping, strict=strict)
    for line in report.skipped:
        say(f"skipped: {line}")
    for line in report.warnings:
        say(f"warning: {line}")
    summary: RegisterImportSummary = {"file": report.file, "rows_read": report.rows_read, "stored": report.stored,
               "already_imported": report.duplicates, "new_devices": report.new_devices,
               "identified": report.identified, "skipped": len(report.skipped), "warnings": len(report.warnings)}
    if format == Format.json:
        print_json(summary)
    else:
        say(f"{report.file}: {report.rows_read} rows read, {report.stored} stored "
            f"({report.duplicates} already imported), {report.new_devices} new devices, "
            f"{len(report.skipped)} skipped, {len(report.warnings)} warnings")


def _import_scan(kind: str, file: Path, site: str, db: str | None, format: Format,
                 scanned: list[str] | None = None) -> None:
    from clearsite.services.file_imports import import_scanner_file

    report = import_scanner_file(open_engine(db), file, site, kind, scanned or [])
    for line in report.out_of_scope + report.problems:
        say(f"skipped: {line}")
    if report.coverage:
        say(f"coverage: {report.coverage}")
    summary: ScannerFileImportSummary = {"file": report.source, "hosts": report.hosts, "stored": report.stored,
               "already_imported": report.duplicates, "new_devices": report.new_devices,
               "out_of_scope": len(report.out_of_scope), "problems": len(report.problems)}
    if format == Format.json:
        print_json(summary)
    else:
        say(f"{report.source}: {report.hosts} hosts, {report.stored} stored ({report.duplicates} already "
            f"imported), {report.new_devices} new devices, {len(report.out_of_scope)} outside the site, "
            f"{len(report.problems)} problems")


@app.command("nmap")
def import_nmap(file: Annotated[Path, typer.Argument(help="nmap -oX output.")], site: SiteOption,
                db: DbOption = None, format: FormatOption = Format.table) -> None:
    """Import an nmap XML run (with or without -sV) as observations at a site."""
    _import_scan("nmap", file, site, db, format)


@app.command("masscan")
def import_masscan(file: Annotated[Path, typer.Argument(help="masscan -oJ, -oD, -oL or -oX output.")],
                   site: SiteOption, db: DbOption = None, format: FormatOption = Format.table,
                   scanned: Annotated[list[str] | None, typer.Option(
                       "--scanned", help="A range the run was given (repeatable): lets its -oX output verify "
                                         "removals of devices whose known ports it scanned.")] = None) -> None:
    """Import a masscan run as observations at a site."""
    _import_scan("masscan", file, site, db, format, scanned)


@app.command("switch")
def import_switch(file: Annotated[Path, typer.Argument(help="MAC address table, ARP table or DHCP leases (CSV).")],
                  site: SiteOption, db: DbOption = None, format: FormatOption = Format.table) -> None:
    """Import a switch MAC table, ARP table or DHCP lease export as observations at a site."""
    _import_scan("switch", file, site, db, format)


@app.command("vms")
def import_vms(
    file: Annotated[Path, typer.Argument(help="Device list a VMS or NVR manager exported (CSV, XLSX or JSON).")],
    site: Annotated[str, typer.Option("--site", help="The site the VMS records.")],
    source_format: Annotated[str, typer.Option(
        "--from", help="milestone, genetec, nx, hikcentral, ivms, dss, onvif, or auto to sniff it.")] = "auto",
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Import a VMS device list (Milestone, Genetec, Nx Witness, HikCentral/iVMS, DSS, ONVIF) as observations."""
    from clearsite.services.vms_imports import import_vms_file

    report = import_vms_file(open_engine(db), file, site, source_format)
    for line in report.skipped:
        say(f"skipped: {line}")
    for line in report.warnings:
        say(f"warning: {line}")
    summary: VmsImportSummary = {"file": report.file, "format": report.format, "rows_read": report.rows_read, "stored": report.stored,
               "already_imported": report.duplicates, "new_devices": report.new_devices,
               "identified": report.identified, "skipped": len(report.skipped), "warnings": len(report.warnings)}
    if format == Format.json:
        print_json(summary)
    else:
        say(f"{report.file} ({report.format}): {report.rows_read} devices read, {report.stored} stored "
            f"({report.duplicates} already imported), {report.new_devices} new devices, "
            f"{len(report.skipped)} skipped, {len(report.warnings)} warnings")
