"""`clearsite screen QUOTE --site NAME`: the command-line face of procurement screening.

Prints JSON (a list of decisions) on stdout, or a table for people; skipped rows and a summary go
to stderr. Exit status 0 whatever the decisions are, unless `--fail-on` names a decision: then 1
when any line is at least that severe (the output is the same). Bad input raises an InputError
(a ValueError) with a one-line message.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from clearsite.cli.options import add_data_row, data_table, open_engine, parse_date, print_table, say
from clearsite.core.errors import CheckFailed

if TYPE_CHECKING:
    from clearsite.services.screening import QuoteScreening

__all__ = ["FailOn", "ScreenFormat", "screen_command"]  # and ScreenInputError, lazily

_STYLE = {"allow": "green", "review": "yellow", "deny": "bold red"}


class ScreenFormat(StrEnum):
    json = "json"
    table = "table"


class FailOn(StrEnum):
    review = "review"
    deny = "deny"


def __getattr__(name: str) -> type:
    # ScreenInputError lives with the screening service; importing it from here still works, lazily.
    if name == "ScreenInputError":
        from clearsite.services.screening import ScreenInputError

        return ScreenInputError
    raise AttributeError(name)


def screen_command(
    quote: Annotated[Path, typer.Argument(help="The quote or bill of materials: CSV, XLSX or JSON lines.")],
    site: Annotated[str, typer.Option("--site", help="The delivery site, as stored with 'clearsite site add'.")],
    format: Annotated[ScreenFormat, typer.Option("--format", help="json for scripts, table for people.")] = ScreenFormat.table,
    attestations: Annotated[Path | None, typer.Option(
        "--attestations", help="Supplier attestations: YAML or CSV with supplier, statement, signed, expires, source.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Screen at this date (YYYY-MM-DD); default today.")] = None,
    policy: Annotated[list[str] | None, typer.Option(
        "--policy", help="Policy id (repeatable); default: every policy of the site's jurisdiction.")] = None,
    fail_on: Annotated[FailOn | None, typer.Option(
        "--fail-on", help="Exit 1 when any line is at least this severe (review also catches deny).")] = None,
    db: Annotated[str | None, typer.Option(
        "--db", envvar="CLEARSITE_DATABASE_URL", help="SQLAlchemy URL (default: sqlite:///clearsite.db).")] = None,
) -> None:
    """Screen a supplier's quote for a delivery site: allow, review or deny each line, with reasons."""
    from clearsite.core.screen.types import Decision
    from clearsite.services.screening import ScreenInputError, at_least, screen_quote_file

    when = parse_date(as_of, error=ScreenInputError)
    result = screen_quote_file(open_engine(db), quote, site, when, attestations, policy)
    for message in result.skipped:
        say(f"skipped: {message}")
    if format == ScreenFormat.json:
        sys.stdout.write(json.dumps([d.as_dict() for d in result.decisions], indent=2, ensure_ascii=False) + "\n")
    else:
        _print_table(result)
    counts = Counter(d.decision.value for d in result.decisions)
    say(f"{result.file_name}: {len(result.decisions)} lines screened for {result.site.name!r} on {when}: "
        f"{counts['deny']} deny, {counts['review']} review, {counts['allow']} allow; "
        f"{len(result.skipped)} rows skipped")
    if fail_on is not None:
        failing = at_least(result.decisions, Decision(fail_on.value))
        if failing:
            raise CheckFailed(f"--fail-on {fail_on.value}: {len(failing)} line(s) at {fail_on.value} or worse "
                              f"(first: line {failing[0].line})")


def _print_table(result: QuoteScreening) -> None:
    from rich.text import Text

    from clearsite.services.screening import producer_short_name

    site = result.site
    table = data_table(title=f"{site.name} ({'sensitive' if site.sensitive else 'not sensitive'}), {result.on}")
    table.add_column("line", justify="right")
    for name in ("supplier", "brand", "model / SKU"):
        table.add_column(name, max_width=20, overflow="ellipsis")  # the reason needs the room more
    for name in ("qty", "decision", "producer", "NIL"):
        table.add_column(name)
    table.add_column("why", ratio=1, min_width=30)
    for d in result.decisions:
        # Quote cells are the supplier's words and may hold "[bold]" or worse: literal text only.
        add_data_row(table, str(d.line), d.supplier or "", d.brand or "", d.model or d.sku or "",
                     "" if d.quantity is None else str(d.quantity),
                     Text(d.decision.value, style=_STYLE[d.decision.value]),
                     producer_short_name(d, result.knowledge), d.nil_subject.value, d.summary)
    print_table(table)
