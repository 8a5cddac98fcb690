"""`clearsite scan` and `clearsite reconcile`: what a site's networks show, against its register."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Annotated

import typer

from clearsite.cli.options import (
    DbOption,
    Format,
    FormatOption,
    SiteOption,
    add_data_row,
    data_table,
    open_engine,
    print_json,
    print_table,
    say,
    stderr_console,
)
from clearsite.core.contracts import Reconciliation, ScanSummary
from clearsite.core.errors import ClearsiteError, UsageError


def scan(
    targets: Annotated[list[str], typer.Argument(help="Addresses or CIDR blocks inside the site's networks.")],
    site: SiteOption,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be probed; send nothing.")] = False,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Addresses or CIDRs to leave alone.")] = None,
    ports: Annotated[str | None, typer.Option("--ports", help="Comma-separated TCP ports (default: camera ports).")] = None,
    rate: Annotated[float, typer.Option("--rate", help="Probes per second across the scan.")] = 500.0,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Hosts probed at once.")] = 128,
    per_host: Annotated[int, typer.Option("--per-host", help="Connections to one host at once.")] = 4,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for a connection.")] = 1.5,
    snmp_community: Annotated[str | None, typer.Option("--snmp-community", help="Ask sysDescr with this.")] = None,
    no_udp: Annotated[bool, typer.Option("--no-udp", help="Skip SADP, DHIP and WS-Discovery.")] = False,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Credential-free discovery of targets inside a site's declared networks; never guesses passwords."""
    from rich.progress import Progress

    from clearsite.services.knowledge import load_knowledge
    from clearsite.services.scanning import ScanOptions, scan_site, site_scope
    from clearsite.services.scanning import dry_run as describe

    try:
        options = ScanOptions(rate=rate, host_concurrency=concurrency, per_host_concurrency=per_host,
                              connect_timeout=timeout, snmp_community=snmp_community, udp_discovery=not no_udp)
        if ports:  # replace() checks the ports as the constructor does
            options = replace(options, ports=tuple(int(p) for p in ports.split(",")))
    except ValueError as exc:
        raise UsageError(f"scan options: {exc}") from exc
    engine = open_engine(db)
    site_name, networks, addresses = site_scope(engine, site, targets, exclude or [])
    if dry_run:
        for line in describe(addresses, options):
            sys.stdout.write(line + "\n")
        return
    stopped_by: list[int] = []
    with Progress(console=stderr_console(), transient=True) as bar, _stop_on(signal.SIGTERM, stopped_by):
        task = bar.add_task(f"scanning {site_name}", total=len(addresses))
        summary = scan_site(engine, load_knowledge(), site_name, networks, addresses, options,
                            progress=lambda done, total: bar.update(task, completed=done))
    result: ScanSummary = {"site": site_name, "targets": summary.targets, "responded": summary.responded,
              "stored": summary.stored, "new_devices": summary.new_devices, "seconds": round(summary.seconds, 2),
              "interrupted": summary.interrupted, "errors": len(summary.errors)}
    if format == Format.json:
        print_json(result)
    else:
        say(f"{site_name}: {summary.targets} targets, {summary.responded} answered, {summary.stored} "
            f"observations stored, {summary.new_devices} new devices in {summary.seconds:.1f} s"
            + (" (interrupted: what was observed is kept)" if summary.interrupted else ""))
    if summary.interrupted:  # 128 + the signal, as a shell reports it: a stopped scan is not a finished one
        raise typer.Exit(128 + (stopped_by[0] if stopped_by else signal.SIGINT))


@contextmanager
def _stop_on(signum: int, stopped_by: list[int]) -> Iterator[None]:
    """While scanning, `signum` (SIGTERM from a service manager) stops the scan as Ctrl-C does: what was
    found so far is stored, and the exit status says which signal stopped it."""

    def stop(received: int, _frame: object) -> None:
        stopped_by.append(received)
        raise KeyboardInterrupt

    previous = signal.signal(signum, stop)
    try:
        yield
    finally:
        signal.signal(signum, previous)


def reconcile(
    site: SiteOption,
    within: Annotated[list[str] | None, typer.Option("--within", help="Only addresses in these CIDRs (what a scan covered).")] = None,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Register against what the networks showed: matched, seen-not-registered, registered-not-seen."""
    from clearsite.services.reconciliation import reconcile_site, reconciliation_json

    try:
        result: Reconciliation = reconciliation_json(reconcile_site(open_engine(db), site, within or []))
    except ClearsiteError:
        raise  # an unknown site, say: its message speaks for itself
    except ValueError as exc:  # a --within that is not a CIDR block
        raise UsageError(f"--within: {exc}") from exc
    if format == Format.json:
        print_json(result)
        return
    sys.stdout.write(f"matched {len(result['matched'])}, seen but not registered {len(result['seen_not_registered'])}, "
                     f"registered but not seen {len(result['registered_not_seen'])}, "
                     f"conflicts {len(result['conflicts'])}\n")
    table = data_table("list", "device", "serial", "MAC", "IP", "label / key")
    for m in result["matched"]:
        s = m["seen"]
        add_data_row(table, "matched", str(s["device_id"]), s["serial"] or "", s["mac"] or "", s["ip"] or "",
                     f"by {m['key']}" + (f"; differs: {', '.join(m['disagreements'])}" if m["disagreements"] else ""))
    for name in ("seen_not_registered", "registered_not_seen"):
        for i in result[name]:
            add_data_row(table, name.replace("_", " "), str(i["device_id"]), i["serial"] or "", i["mac"] or "",
                         i["ip"] or "", i["label"] or "")
    print_table(table)
