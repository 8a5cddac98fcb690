"""What every command shares, defined once: options, date parsing, and output that never reads data as markup.

Only the standard library, Typer and the error tree are imported here: `clearsite --help` must
start fast, so Rich, the services and everything behind them load inside the command that runs.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clearsite.core.errors import InputError, UsageError
from clearsite.core.text import clean_text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from sqlalchemy import Engine


class Format(StrEnum):
    json = "json"
    table = "table"


DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="CLEARSITE_DATABASE_URL", help="SQLAlchemy URL (default: sqlite:///clearsite.db)."),
]
FormatOption = Annotated[Format, typer.Option("--format", help="json for scripts, table for people.")]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="Assess at this date (YYYY-MM-DD); default today.")]
SiteOption = Annotated[str, typer.Option("--site", help="The site the scan covered.")]
PolicyOption = Annotated[str | None, typer.Option("--policy")]


def parse_date(text: str | None, option: str = "--as-of", error: type[InputError] = UsageError) -> date:
    """A YYYY-MM-DD option, or today when it was not given."""
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise error(f"{option} {text!r}: expected a date as YYYY-MM-DD") from exc


def open_engine(db: str | None) -> Engine:
    from clearsite.services.database import announce_waits, open_database

    # A person at a terminal would rather queue behind another import than see theirs fail.
    announce_waits(_waiting_for_writer)
    return open_database(db)


def _waiting_for_writer() -> None:
    sys.stderr.write("clearsite: waiting for another import to finish…\n")
    sys.stderr.flush()


def actor() -> str:
    """Who is making a change from the command line, for the audit log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def print_json_stream(rows: Any) -> None:
    """A JSON list written one item a line as the items come, so a million devices never sit in memory."""
    sys.stdout.write("[")
    for index, row in enumerate(rows):
        sys.stdout.write(("," if index else "") + "\n" + json.dumps(row, ensure_ascii=False, default=str))
    sys.stdout.write("\n]\n")


def say(message: str) -> None:
    """One line for a person on stderr, printed as it is (never as markup)."""
    sys.stderr.write(message + "\n")


@cache
def stdout_console() -> Console:
    """Tables for people. Markup, emoji codes and highlighting are off: cells hold what registers and
    devices said (a MAC `AC:CC:8E:AB:33:2F` holds the emoji code `:ab:`; a model may be `[bold]`)."""
    from rich.console import Console

    return Console(highlight=False, markup=False, emoji=False, width=None if sys.stdout.isatty() else 160)


@cache
def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, markup=False, emoji=False,
                   width=None if sys.stderr.isatty() else 160)


def data_table(*headers: str, title: str | None = None) -> Table:
    """A Rich table whose cells go in through `add_data_row`, so data is never read as markup."""
    from rich.table import Table
    from rich.text import Text

    return Table(*headers, title=Text(clean_text(title)) if title is not None else None)


def add_data_row(table: Table, *cells: Any) -> None:
    """Each cell as literal text with control and bidi characters removed (Rich renderables, such as a
    styled Text, pass through): a register cell stored before input cleaning, or a hostile banner, must
    not retitle the window, clear the screen or reorder what an officer reads."""
    from rich.text import Text

    table.add_row(*(Text(clean_text(cell)) if isinstance(cell, str) else cell for cell in cells))


def print_table(table: Table) -> None:
    stdout_console().print(table)
