"""`clearsite screen QUOTE --site NAME`: the command-line face of procurement screening.

Register it on the main app with `app.command("screen")(screen_command)`. It reads the quote and
any attestations, finds the delivery site in the database, screens, and prints: JSON (a list of
decisions) on stdout, or a table for people; skipped rows go to stderr. Exit status 0 whatever
the decisions are; bad input raises a ValueError subclass with a one-line message.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from clearsite.core.knowledge import Knowledge
from clearsite.core.screen.types import ScreenDecision, ScreenError

_STYLE = {"allow": "green", "review": "yellow", "deny": "bold red"}


class ScreenFormat(StrEnum):
    json = "json"
    table = "table"


class ScreenInputError(ScreenError):
    """A command-line input is unusable: a missing file or a malformed date."""


def screen_command(
    quote: Annotated[Path, typer.Argument(help="The quote or bill of materials: CSV, XLSX or JSON lines.")],
    site: Annotated[str, typer.Option("--site", help="The delivery site, as stored with 'clearsite site add'.")],
    format: Annotated[ScreenFormat, typer.Option("--format", help="json for scripts, table for people.")] = ScreenFormat.table,
    attestations: Annotated[Path | None, typer.Option(
        "--attestations", help="Supplier attestations: YAML or CSV with supplier, statement, signed, expires, source.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Screen at this date (YYYY-MM-DD); default today.")] = None,
    policy: Annotated[list[str] | None, typer.Option(
        "--policy", help="Policy id (repeatable); default: every policy of the site's jurisdiction.")] = None,
    db: Annotated[str | None, typer.Option(
        "--db", envvar="CLEARSITE_DATABASE_URL", help="SQLAlchemy URL (default: sqlite:///clearsite.db).")] = None,
) -> None:
    """Screen a supplier's quote for a delivery site: allow, review or deny each line, with reasons."""
    from clearsite.formats.knowledge import load_knowledge
    from clearsite.formats.attestations import load_attestations
    from clearsite.formats.quotes import read_quote
    from clearsite.core.screen import screen
    from clearsite.store.db import open_database
    from clearsite.store.sites import find_site, load_sites

    when = _date(as_of)
    data = _read(quote)
    read = read_quote(data, quote.name)
    signed = load_attestations(attestations) if attestations else []
    engine = open_database(db)
    with engine.connect() as conn:
        site_id = find_site(conn, site)
        delivery_site = load_sites(conn)[site_id]
    knowledge = load_knowledge()
    decisions = screen(read.lines, delivery_site, knowledge, when, signed, policy)

    err = Console(stderr=True, highlight=False, markup=False, width=None if sys.stderr.isatty() else 160)
    for message in read.messages():
        err.print(f"skipped: {message}", soft_wrap=True)
    if format == ScreenFormat.json:
        sys.stdout.write(json.dumps([d.as_dict() for d in decisions], indent=2, ensure_ascii=False) + "\n")
    else:
        _print_table(decisions, delivery_site.name, delivery_site.sensitive, when, knowledge)
    counts = Counter(d.decision.value for d in decisions)
    err.print(f"{quote.name}: {len(decisions)} lines screened for {delivery_site.name!r} on {when}: "
              f"{counts['deny']} deny, {counts['review']} review, {counts['allow']} allow; "
              f"{len(read.problems)} rows skipped", soft_wrap=True)


def _date(text: str | None) -> date:
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ScreenInputError(f"--as-of {text!r}: expected a date as YYYY-MM-DD") from exc


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ScreenInputError(f"{path}: cannot read the quote: {exc.strerror or exc}") from exc


def _print_table(decisions: list[ScreenDecision], site_name: str, sensitive: bool, when: date,
                 knowledge: Knowledge) -> None:
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    table = Table(title=Text(f"{site_name} ({'sensitive' if sensitive else 'not sensitive'}), {when}"))
    table.add_column("line", justify="right")
    for name in ("supplier", "brand", "model / SKU"):
        table.add_column(name, max_width=20, overflow="ellipsis")  # the reason needs the room more
    for name in ("qty", "decision", "producer", "NIL"):
        table.add_column(name)
    table.add_column("why", ratio=1, min_width=30)
    for d in decisions:
        # Text(), never markup: quote cells are the supplier's words and may hold "[bold]" or worse.
        table.add_row(
            str(d.line), Text(d.supplier or ""), Text(d.brand or ""), Text(d.model or d.sku or ""),
            "" if d.quantity is None else str(d.quantity), Text(d.decision.value, style=_STYLE[d.decision.value]),
            Text(_short_name(d, knowledge)), d.nil_subject.value, Text(d.summary),
        )
    out.print(table)


def _short_name(decision: ScreenDecision, knowledge: Knowledge) -> str:
    """"Hikvision" rather than the legal name, for a table column."""
    if decision.producer is None:
        return "unknown"
    company = knowledge.companies.get(decision.producer.id)
    return company.aliases[0] if company and company.aliases else decision.producer.name
