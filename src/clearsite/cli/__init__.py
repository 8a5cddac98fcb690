"""The command line: a thin face on the library. Each command parses options and calls one function.

Machine-readable output goes to stdout; progress and logs go to stderr. Bad input exits non-zero
with one line on stderr that names the file, row or field.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from clearsite.services import pipeline
from clearsite.core.knowledge import KnowledgeError
from clearsite.formats.knowledge import load_knowledge
from clearsite.core.models import Network, Site

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="clearsite: find, judge, plan, publish and prove the removal of NIL-subject surveillance kit.",
                  pretty_exceptions_enable=False)
site_app = typer.Typer(no_args_is_help=True, help="Departments' sites and their networks.")
import_app = typer.Typer(no_args_is_help=True, help="Import registers and scanner output as observations.")
knowledge_app = typer.Typer(no_args_is_help=True, help="The knowledge base shipped in the package.")
app.add_typer(site_app, name="site")
app.add_typer(import_app, name="import")
app.add_typer(knowledge_app, name="knowledge")


def _mount() -> None:
    """Commands whose code lives with their capability."""
    from clearsite.cli.screen import screen_command
    from clearsite.sim.cli import app as sim_app
    from clearsite.cli.web_admin import audit_app, serve, token_app, user_app

    app.add_typer(sim_app, name="sim")
    app.command("screen")(screen_command)
    app.command("serve")(serve)
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.add_typer(audit_app, name="audit")


_mount()

out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


class Format(StrEnum):
    json = "json"
    table = "table"


DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="CLEARSITE_DATABASE_URL", help="SQLAlchemy URL (default: sqlite:///clearsite.db)."),
]
FormatOption = Annotated[Format, typer.Option("--format", help="json for scripts, table for people.")]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="Assess at this date (YYYY-MM-DD); default today.")]


class UserError(Exception):
    """Bad input: shown as one line on stderr, exit status 2."""


def _engine(db: str | None):  # type: ignore[no-untyped-def]
    from clearsite.store.db import open_database

    return open_database(db)


def actor() -> str:
    """Who is making a change from the command line, for the audit log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _as_of(text: str | None) -> date:
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UserError(f"--as-of {text!r}: expected a date as YYYY-MM-DD") from exc


def _short_name(knowledge: Any, company_id: str) -> str:
    company = knowledge.companies[company_id]
    return company.aliases[0] if company.aliases else company.name


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


# --------------------------------------------------------------------------- site


@site_app.command("add")
def site_add(
    name: Annotated[str, typer.Argument(help="Site name (kept internal; never published).")],
    department: Annotated[str, typer.Option("--department", help="Owning department.")],
    region: Annotated[str | None, typer.Option("--region")] = None,
    holds_secret: Annotated[bool, typer.Option("--holds-secret", help="Routinely holds SECRET or above.")] = False,
    dv_hub: Annotated[bool, typer.Option("--dv-hub", help="Hosts a significant share of DV-cleared staff.")] = False,
    ministerial: Annotated[bool, typer.Option("--ministerial", help="Routinely used by Ministers.")] = False,
    socpa: Annotated[bool, typer.Option("--socpa", help="A SOCPA 2005 designated site.")] = False,
    network: Annotated[list[str] | None, typer.Option("--network", help="A network of the site (CIDR).")] = None,
    core_network: Annotated[list[str] | None, typer.Option("--core-network", help="A departmental core network.")] = None,
    db: DbOption = None,
) -> None:
    """Add a site; it is sensitive when any of the four UK criteria holds."""
    from clearsite.store.sites import add_site

    networks = tuple(Network(c) for c in network or []) + tuple(Network(c, core=True) for c in core_network or [])
    site = Site(name, department, region, holds_secret, dv_hub, ministerial, socpa, networks)
    from clearsite.store import audit

    engine = _engine(db)
    with engine.begin() as conn:
        site_id = add_site(conn, site)
        audit.record(conn, actor(), "site.add", f"site:{site_id}", None,
                     {"name": site.name, "department": site.department, "region": site.region,
                      "criteria": list(site.sensitivity_criteria),
                      "networks": [{"cidr": n.cidr, "core": n.core} for n in site.networks]})
    sensitivity = "sensitive (" + ", ".join(site.sensitivity_criteria) + ")" if site.sensitive else "not sensitive"
    err.print(f"added site {site_id}: {name!r}, {sensitivity}, {len(networks)} network(s)")


@site_app.command("list")
def site_list(db: DbOption = None, format: FormatOption = Format.table) -> None:
    """List sites with their sensitivity and networks."""
    from clearsite.store.sites import load_sites

    with _engine(db).connect() as conn:
        sites = load_sites(conn)
    rows = [{"id": i, "name": s.name, "department": s.department, "region": s.region, "sensitive": s.sensitive,
             "criteria": list(s.sensitivity_criteria),
             "networks": [{"cidr": n.cidr, "core": n.core} for n in s.networks]} for i, s in sorted(sites.items())]
    if format == Format.json:
        _print_json(rows)
        return
    table = Table("id", "site", "department", "region", "sensitive", "networks")
    for r in rows:
        nets = ", ".join(n["cidr"] + (" (core)" if n["core"] else "") for n in r["networks"])
        table.add_row(str(r["id"]), r["name"], r["department"], r["region"] or "", ", ".join(r["criteria"]) or "no", nets)
    out.print(table)


# --------------------------------------------------------------------------- import


@import_app.command("register")
def import_register(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX asset register.")],
    site: Annotated[str | None, typer.Option("--site", help="Place every row at this site.")] = None,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="YAML: 'Header as written: field'.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse the whole file if any row is bad.")] = False,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Import an asset register; junk rows are reported with their row numbers and skipped."""
    from clearsite.formats.register import load_mapping

    columns = load_mapping(mapping) if mapping else None
    report = pipeline.import_register(_engine(db), file, load_knowledge(), site=site, mapping=columns, strict=strict)
    for line in report.skipped:
        err.print(f"skipped: {line}", markup=False)
    for line in report.warnings:
        err.print(f"warning: {line}", markup=False)
    summary = {"file": report.file, "rows_read": report.rows_read, "stored": report.stored,
               "already_imported": report.duplicates, "new_devices": report.new_devices,
               "identified": report.identified, "skipped": len(report.skipped), "warnings": len(report.warnings)}
    if format == Format.json:
        _print_json(summary)
    else:
        err.print(f"{report.file}: {report.rows_read} rows read, {report.stored} stored "
                  f"({report.duplicates} already imported), {report.new_devices} new devices, "
                  f"{len(report.skipped)} skipped, {len(report.warnings)} warnings", markup=False)


def _import_scan(kind: str, file: Path, site: str, db: str | None, format: Format) -> None:
    from clearsite.services.observations import import_scan_file

    report = import_scan_file(_engine(db), load_knowledge(), file, site, kind)
    for line in report.out_of_scope + report.problems:
        err.print(f"skipped: {line}", markup=False)
    summary = {"file": report.source, "hosts": report.hosts, "stored": report.stored,
               "already_imported": report.duplicates, "new_devices": report.new_devices,
               "out_of_scope": len(report.out_of_scope), "problems": len(report.problems)}
    if format == Format.json:
        _print_json(summary)
    else:
        err.print(f"{report.source}: {report.hosts} hosts, {report.stored} stored ({report.duplicates} already "
                  f"imported), {report.new_devices} new devices, {len(report.out_of_scope)} outside the site, "
                  f"{len(report.problems)} problems", markup=False)


SiteOption = Annotated[str, typer.Option("--site", help="The site the scan covered.")]


@import_app.command("nmap")
def import_nmap(file: Annotated[Path, typer.Argument(help="nmap -oX output.")], site: SiteOption,
                db: DbOption = None, format: FormatOption = Format.table) -> None:
    """Import an nmap XML run (with or without -sV) as observations at a site."""
    _import_scan("nmap", file, site, db, format)


@import_app.command("masscan")
def import_masscan(file: Annotated[Path, typer.Argument(help="masscan -oJ, -oD, -oL or -oX output.")],
                   site: SiteOption, db: DbOption = None, format: FormatOption = Format.table) -> None:
    """Import a masscan run as observations at a site."""
    _import_scan("masscan", file, site, db, format)


@import_app.command("switch")
def import_switch(file: Annotated[Path, typer.Argument(help="MAC address table, ARP table or DHCP leases (CSV).")],
                  site: SiteOption, db: DbOption = None, format: FormatOption = Format.table) -> None:
    """Import a switch MAC table, ARP table or DHCP lease export as observations at a site."""
    _import_scan("switch", file, site, db, format)


@app.command()
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

    from clearsite.discover import DEFAULT_PORTS, ScanOptions, ScopeError
    from clearsite.services.scanning import dry_run as describe, scan_site, site_scope

    try:
        port_list = tuple(int(p) for p in ports.split(",")) if ports else DEFAULT_PORTS
        options = ScanOptions(ports=port_list, rate=rate, host_concurrency=concurrency, per_host_concurrency=per_host,
                              connect_timeout=timeout, snmp_community=snmp_community, udp_discovery=not no_udp)
    except ValueError as exc:
        raise UserError(f"scan options: {exc}") from exc
    engine = _engine(db)
    try:
        site_name, networks, addresses = site_scope(engine, site, targets, exclude or [])
    except ScopeError as exc:
        raise UserError(str(exc)) from exc
    if dry_run:
        for line in describe(addresses, options):
            sys.stdout.write(line + "\n")
        return
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(f"scanning {site_name}", total=len(addresses))
        summary = scan_site(engine, load_knowledge(), site_name, networks, addresses, options,
                            progress=lambda done, total: bar.update(task, completed=done))
    result = {"site": site_name, "targets": summary.targets, "responded": summary.responded,
              "stored": summary.stored, "new_devices": summary.new_devices, "seconds": round(summary.seconds, 2),
              "interrupted": summary.interrupted, "errors": len(summary.errors)}
    if summary.stored:
        pipeline.assess_all(engine, load_knowledge(), date.today())
    if format == Format.json:
        _print_json(result)
    else:
        err.print(f"{site_name}: {summary.targets} targets, {summary.responded} answered, {summary.stored} "
                  f"observations stored, {summary.new_devices} new devices in {summary.seconds:.1f} s"
                  + (" (interrupted: what was observed is kept)" if summary.interrupted else ""), markup=False)


@app.command()
def reconcile(
    site: SiteOption,
    within: Annotated[list[str] | None, typer.Option("--within", help="Only addresses in these CIDRs (what a scan covered).")] = None,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Register against what the networks showed: matched, seen-not-registered, registered-not-seen."""
    from clearsite.services.observations import reconcile_site, reconciliation_json

    try:
        result = reconciliation_json(reconcile_site(_engine(db), site, within or []))
    except ValueError as exc:
        raise UserError(f"--within: {exc}") from exc
    if format == Format.json:
        _print_json(result)
        return
    out.print(f"matched {len(result['matched'])}, seen but not registered {len(result['seen_not_registered'])}, "
              f"registered but not seen {len(result['registered_not_seen'])}, conflicts {len(result['conflicts'])}")
    table = Table("list", "device", "serial", "MAC", "IP", "label / key")
    for m in result["matched"]:
        s = m["seen"]
        table.add_row("matched", str(s["device_id"]), s["serial"] or "", s["mac"] or "", s["ip"] or "",
                      f"by {m['key']}" + (f"; differs: {', '.join(m['disagreements'])}" if m["disagreements"] else ""))
    for name in ("seen_not_registered", "registered_not_seen"):
        for i in result[name]:
            table.add_row(name.replace("_", " "), str(i["device_id"]), i["serial"] or "", i["mac"] or "",
                          i["ip"] or "", i["label"] or "")
    out.print(table)


# --------------------------------------------------------------------------- devices, identify, assess


@app.command()
def devices(
    site: Annotated[str | None, typer.Option("--site")] = None,
    as_of: AsOfOption = None,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """List devices with who made them, the NIL verdict, and the evidence."""
    knowledge = load_knowledge()
    when = _as_of(as_of)
    rows = (pipeline.device_json(v, knowledge, when) for v, _ in pipeline.iter_devices(_engine(db), site))
    if format == Format.json:
        sys.stdout.write("[")
        for index, row in enumerate(rows):
            sys.stdout.write(("," if index else "") + "\n" + json.dumps(row, ensure_ascii=False, default=str))
        sys.stdout.write("\n]\n")
        return
    table = Table("id", "site", "badge", "model", "class", "producer", "NIL", "conf.")
    for row in rows:
        producer = _short_name(knowledge, row["producer"]["id"]) if row["producer"] else "—"
        table.add_row(str(row["id"]), row["site"], row["label_brand"] or "—", row["model"] or "—",
                      row["device_class"], producer, row["nil_subject"], f"{row['confidence']:.2f}")
    out.print(table)


@app.command("identify")
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
    from clearsite.core.identify import identify, register_evidence
    from clearsite.core.models import Evidence, Signal
    from clearsite.services.pipeline import DeviceView

    knowledge = load_knowledge()
    evidence = register_evidence("command line", brand=brand, model=model, serial=serial, mac=mac,
                                 description=description, firmware=firmware)
    evidence += [Evidence(Signal.BANNER, b, "command line --banner") for b in banner or []]
    if not evidence:
        raise UserError("give at least one of --brand, --model, --serial, --mac, --description, --firmware, --banner")
    install = _as_of(installed) if installed else None
    identity = identify(evidence, knowledge, install)
    view = DeviceView(0, "", None, mac, serial, None, install, None, identity,
                      [link.as_dict() for link in identity.evidence])
    result = pipeline.device_json(view, knowledge, _as_of(as_of))
    for key in ("id", "site", "ip", "location"):
        result[key] = None
    if format == Format.json:
        _print_json(result)
    else:
        out.print(result)


@app.command()
def assess(
    as_of: AsOfOption = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Policy id (default: by jurisdiction).")] = None,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Assess every device against the policy and store the findings."""
    when = _as_of(as_of)
    engine = _engine(db)
    try:
        counts = pipeline.assess_all(engine, load_knowledge(), when, policy)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    if format == Format.json:
        sys.stdout.write("[")
        for index, finding in enumerate(pipeline.stored_findings(engine, policy)):
            sys.stdout.write(("," if index else "") + "\n" + json.dumps(finding, ensure_ascii=False))
        sys.stdout.write("\n]\n")
        return
    table = Table("policy", "obligation", "status", "devices")
    for (pol, obligation, status), count in sorted(counts.items()):
        table.add_row(pol, obligation, status, str(count))
    out.print(table)


@app.command()
def report(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for report.html, devices.csv, report.xlsx, report.json.")],
    as_of: AsOfOption = None,
    policy: Annotated[str | None, typer.Option("--policy")] = None,
    db: DbOption = None,
) -> None:
    """Write the internal findings report (not for publication: it names sites)."""
    try:
        files = pipeline.write_report(_engine(db), load_knowledge(), out_dir, _as_of(as_of), policy)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    err.print(f"wrote {files.html}, {files.csv}, {files.xlsx}, {files.json}", markup=False)
    sys.stdout.write(f"{files.html}\n")


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo's registers and reports.")] = Path("demo-out"),
    db: DbOption = None,
) -> None:
    """Build the demo department into the database and run the whole pipeline."""
    from clearsite.services.demo import run_demo

    run_demo(_engine(db), load_knowledge(), out_dir, out, err)


class PlanFormat(StrEnum):
    json = "json"
    table = "table"
    csv = "csv"


@app.command()
def plan(
    plan_file: Annotated[Path | None, typer.Option("--plan-file", help="YAML: crews, rates, budgets, milestones, "
                                                   "access windows, scenarios (default: one crew per region).")] = None,
    start: Annotated[str | None, typer.Option("--start", help="First planning week (YYYY-MM-DD).")] = None,
    time_limit: Annotated[float | None, typer.Option("--time-limit", help="Seconds for the solver.")] = None,
    scenario: Annotated[list[str] | None, typer.Option("--scenario", help="A named scenario of the plan file, or "
                                                       "a what-if such as 'crews=North+2' (repeatable).")] = None,
    compare: Annotated[bool, typer.Option("--compare", help="Plan every scenario and compare side by side.")] = False,
    export: Annotated[Path | None, typer.Option("--export", help="Write the schedule as XLSX here.")] = None,
    charts: Annotated[Path | None, typer.Option("--charts", help="Write the burn-down and Gantt SVGs here.")] = None,
    as_of: AsOfOption = None,
    policy: Annotated[str | None, typer.Option("--policy")] = None,
    db: DbOption = None,
    format: Annotated[PlanFormat, typer.Option("--format")] = PlanFormat.table,
) -> None:
    """Plan the removals week by week within crews, access, budgets and milestones; store the plan."""
    from clearsite.formats.planfile import PlanFileError, load_plan_file
    from clearsite.render.plan_export import comparison_to_json, comparison_to_table, plan_to_csv, plan_to_json, plan_to_table, plan_to_xlsx
    from clearsite.services.planning import plan_removals, write_files
    from clearsite.render.charts import gantt_svg, plan_burndown_svg

    when = _as_of(as_of)
    try:
        loaded = load_plan_file(plan_file) if plan_file else None
        if loaded is not None and (start or time_limit):
            loaded = loaded.with_settings(start=_as_of(start) if start else None, time_limit=time_limit)
        plans, work, used = plan_removals(_engine(db), load_knowledge(), loaded, when, scenario or [], compare, policy)
    except (PlanFileError, ValueError) as exc:
        raise UserError(" ".join(str(exc).split())) from exc
    base = plans[0]
    if export:
        plan_to_xlsx(base, export)
        err.print(f"wrote the schedule to {export}", markup=False)
    if charts:
        from clearsite.render.charts import svg_to_png

        svgs = {"burndown": plan_burndown_svg(base), "gantt": gantt_svg(base)}
        write_files(charts, {f"{name}.svg": svg for name, svg in svgs.items()})
        try:
            for name, svg in svgs.items():
                (charts / f"{name}.png").write_bytes(svg_to_png(svg))
        except RuntimeError as exc:
            err.print(f"warning: {exc}", markup=False)
        err.print(f"wrote the burn-down and Gantt charts to {charts}", markup=False)
    err.print(f"{len(work.work)} devices to remove at {len(work.sites)} sites; {len(plans)} plan(s) stored", markup=False)
    if len(plans) > 1:
        sys.stdout.write((comparison_to_json(plans) if format == PlanFormat.json else comparison_to_table(plans)) + "\n")
        return
    text = {PlanFormat.json: plan_to_json, PlanFormat.csv: plan_to_csv, PlanFormat.table: plan_to_table}[format](base)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def publish(
    public: Annotated[Path | None, typer.Option("--public", help="The redacted public statement (HTML, JSON, SVG).")] = None,
    internal: Annotated[Path | None, typer.Option("--internal", help="The full detail for the programme office.")] = None,
    as_of: AsOfOption = None,
    programme: Annotated[str, typer.Option("--programme", help="Programme name shown on the statement.")] = "",
    db: DbOption = None,
) -> None:
    """Publish progress: a public statement redacted by construction, or the internal full detail."""
    from clearsite.services.planning import latest_plan, progress_records, removal_work, write_files
    from clearsite.render.public import (SiteProgress, build_internal_report, build_public_statement,
                                          internal_files, public_files)

    if not public and not internal:
        raise UserError("give --public DIR, --internal DIR, or both")
    when = _as_of(as_of)
    engine = _engine(db)
    knowledge = load_knowledge()
    work = removal_work(engine, knowledge, when)
    stored = latest_plan(engine)
    forecast = {v["site"]: date.fromisoformat(v["week"]) for v in (stored or {}).get("visits", [])}
    records = [SiteProgress(r["site"], r["department"], r["cleared_on"],
                            _friday(forecast.get(r["site"])), r["region"], r["devices"])
               for r in progress_records(work, None)]
    milestones = [(date.fromisoformat(m["date"]), float(m["target_share"])) for m in (stored or {}).get("milestones", [])] \
        or [(m.date, m.target_share) for o in knowledge.policies["uk-hcws386"].obligations for m in o.milestones]
    if public:
        statement = build_public_statement(records, as_of=when, milestones=milestones, programme=programme)
        written = write_files(public, public_files(statement))
        err.print(f"public statement: {', '.join(str(p) for p in written)}", markup=False)
    if internal:
        report = build_internal_report(records, as_of=when, milestones=milestones, plan=stored)
        written = write_files(internal, internal_files(report))
        err.print(f"internal report (names sites; do not publish): {', '.join(str(p) for p in written)}", markup=False)


def _friday(monday: date | None) -> date | None:
    """A site visited in a week is clear by that week's Friday."""
    from datetime import timedelta

    return monday + timedelta(days=4) if monday else None


# --------------------------------------------------------------------------- knowledge


@knowledge_app.command("check")
def knowledge_check(
    directory: Annotated[Path | None, typer.Option("--dir", help="Check these files instead of the packaged ones.")] = None,
) -> None:
    """Validate the knowledge files and print what they hold."""
    knowledge = load_knowledge(directory)
    err.print(f"knowledge {knowledge.version}: {len(knowledge.companies)} companies, {len(knowledge.brands)} brands, "
              f"{len(knowledge.patterns)} patterns, {len(knowledge.fingerprints)} fingerprints, "
              f"{len(knowledge.oui.registrants)} OUI registrants, {len(knowledge.designations)} designations, "
              f"{len(knowledge.policies)} policies: OK")


# --------------------------------------------------------------------------- entry point


def main() -> None:
    """Run the CLI, turning known bad-input errors into one line on stderr and exit status 2."""
    from clearsite.core.screen import AttestationError, ScreenError
    from clearsite.formats.quotes import QuoteError
    from clearsite.formats.register import RegisterError
    from clearsite.formats.scans.records import ScanParseError
    from clearsite.store.db import DatabaseError
    from clearsite.store.sites import SiteError

    try:
        app(standalone_mode=False)
    except (UserError, KnowledgeError, RegisterError, ScanParseError, pipeline.ImportRefused, SiteError,
            DatabaseError, ScreenError, QuoteError, AttestationError) as exc:
        err.print(f"clearsite: error: {exc}", markup=False, soft_wrap=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        err.print("clearsite: interrupted; what was already stored is kept")
        raise SystemExit(130) from None
    except (typer.Exit, SystemExit) as exc:
        raise SystemExit(getattr(exc, "exit_code", getattr(exc, "code", 0))) from None
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        if isinstance(exc, click.exceptions.Abort):
            raise SystemExit(130) from None
        raise
