"""`clearsite agent run|status|health`: the site agent, and the centre's view of its agents.

    run      clearsite agent run --server URL --token-file FILE --site NAME [--target CIDR]... [--once]
    status   clearsite agent status [--spool DIR] --format json
    health   clearsite agent health [--silent-after 26h] --format json     (at the centre: its database)

The agent is its own door (src/clearsite/agent); this module parses the command line and loads it by
name, as `serve` loads the web app, so one door never imports another.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from clearsite.cli.errors import HandledGroup
from clearsite.cli.options import (
    DbOption,
    Format,
    FormatOption,
    add_data_row,
    data_table,
    open_engine,
    print_json,
    print_table,
    say,
)

__all__ = ["app"]

app = typer.Typer(cls=HandledGroup, help="The site agent: scans inside a site's networks, spools to disk, "
                  "pushes to the centre; and the centre's view of its agents.")

_AGENT = "clearsite.agent.main"


def _agent() -> Any:
    return importlib.import_module(_AGENT)


ConfigOption = Annotated[Path | None, typer.Option("--config", help="The agent's TOML file (deploy/agent.example.toml); "
                                                   "flags override it.")]
SpoolOption = Annotated[Path | None, typer.Option("--spool", help="The spool directory (default "
                                                  "$XDG_STATE_HOME/clearsite/agent).")]


@app.command("run")
def run(
    server: Annotated[str | None, typer.Option("--server", help="The centre's URL (https://…).")] = None,
    token_file: Annotated[Path | None, typer.Option("--token-file", help="A file holding the agent's token "
                                                    "(clearsite token create NAME --name HOST --scope push).")] = None,
    site: Annotated[str | None, typer.Option("--site", help="The site this agent watches (its token's site).")] = None,
    target: Annotated[list[str] | None, typer.Option("--target", help="CIDR to scan (repeatable; default: the "
                                                     "site's networks as the centre declares them).")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Address or CIDR to leave alone.")] = None,
    spool: SpoolOption = None,
    once: Annotated[bool, typer.Option("--once", help="One cycle, for cron and tests: exit 0 only when the spool "
                                       "is empty after it.")] = False,
    every: Annotated[str | None, typer.Option("--every", help="Scan this often, e.g. 24h (default 24h).")] = None,
    window: Annotated[str | None, typer.Option("--window", help="Start scans only between these local times, "
                                               "e.g. 22:00-06:00.")] = None,
    poll: Annotated[str | None, typer.Option("--poll", help="Push, heartbeat and ask for jobs this often "
                                             "(default 5m).")] = None,
    inbox: Annotated[Path | None, typer.Option("--inbox", help="A folder for nmap/masscan output and switch "
                                               "tables; each file moves to done/ or failed/.")] = None,
    rate: Annotated[float | None, typer.Option("--rate", help="Probes per second across a scan.")] = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", help="Hosts probed at once.")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds to wait for a connection.")] = None,
    ca_file: Annotated[Path | None, typer.Option("--ca-file", help="CA certificate(s) the centre's TLS "
                                                 "certificate is checked against.")] = None,
    pin_sha256: Annotated[str | None, typer.Option("--pin-sha256", help="Or: the SHA-256 of the centre's "
                                                   "certificate, in hex.")] = None,
    spool_limit: Annotated[int | None, typer.Option("--spool-limit", help="Observations the spool may hold "
                                                    "(default 1,000,000); warns at 80%.")] = None,
    batch: Annotated[int | None, typer.Option("--batch", help="Observations a push (default 500).")] = None,
    push_for: Annotated[str | None, typer.Option("--push-for", help="How long one push keeps retrying a "
                                                 "centre that does not answer (default 2m).")] = None,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say what each step did.")] = False,
) -> None:
    """Run the site agent: scan, spool to disk first, push to the centre with idempotency keys.

    Exit status: 0 done (with --once: the spool is empty); 1 observations remain spooled (the centre was
    away or refused a batch); 2 the centre refused the token or the site, or bad settings. The spool is
    always kept."""
    scan: dict[str, Any] = {k: v for k, v in {"rate": rate, "concurrency": concurrency, "timeout": timeout}.items()
                            if v is not None}
    flags = {"server": server, "token_file": token_file, "site": site, "targets": target, "exclude": exclude,
             "spool": spool, "every": every, "window": window, "poll": poll, "inbox": inbox, "ca_file": ca_file,
             "pin_sha256": pin_sha256, "spool_limit": spool_limit, "batch": batch, "push_for": push_for,
             "scan": scan or None}

    def log(line: str) -> None:
        if verbose or line.startswith(("warning", "push stopped", "the centre refused", "scan refused",
                                       "cannot learn")):
            say(line)

    _agent().run(config, flags, once, log)  # `clearsite agent status --format json` says what it left


def _status_json(status: dict[str, Any]) -> dict[str, Any]:
    from clearsite.core.contracts import AgentStatus

    answer: AgentStatus = {"site": status["site"], "spooled": status["spooled"], "last_scan": status["last_scan"],
                           "last_push": status["last_push"], "server": status["server"],
                           "coverage_waiting": status["coverage"]}
    return dict(answer)


@app.command("status")
def status(
    spool: SpoolOption = None,
    config: ConfigOption = None,
    format: FormatOption = Format.table,
) -> None:
    """What the agent's spool holds: site, observations waiting, last scan, last push, centre."""
    found = _agent().status(config, spool)
    if format == Format.json:
        print_json(_status_json(found))
        return
    sys.stdout.write(f"site {found['site']}: {found['spooled']} observations spooled (limit {found['limit']}), "
                     f"last scan {found['last_scan'] or 'never'}, last push {found['last_push'] or 'never'}, "
                     f"centre {found['server']}\n")
    if found["coverage"]:
        sys.stdout.write(f"{found['coverage']} finished scan(s) waiting to tell the centre what they covered\n")
    for refused in found["refused"]:
        sys.stdout.write(f"refused batch {refused['key']} ({refused['observations']} observations): "
                         f"{refused['reason']}\n")


@app.command("health")
def health(
    silent_after: Annotated[str | None, typer.Option("--silent-after", help="A site is silent when its agent has "
                                                     "not been heard for this long (default 26h).")] = None,
    db: DbOption = None,
    format: FormatOption = Format.table,
) -> None:
    """At the centre: each site's agent, when last heard, spool depth, last scan, version; raises
    a site_silent alert for each site newly silent."""
    from clearsite.services.agents import agent_health, parse_duration, silent_after_from_environment
    from clearsite.services.auth import SiteScope

    after = parse_duration(silent_after, "--silent-after") if silent_after else silent_after_from_environment()
    rows = agent_health(open_engine(db), SiteScope(), silent_after=after)
    if format == Format.json:
        print_json(rows)
        return
    table = data_table("site", "department", "state", "last heard", "spooled", "last scan", "version", "host")
    for r in rows:
        add_data_row(table, r["site"], r["department"], r["state"], r["heard_at"] or "", str(r["spooled"] or 0)
                     if r["agent"] else "", r["last_scan"] or "", r["version"] or "", r["host"] or "")
    print_table(table)
