"""The `screen` command, run through Typer's test runner on a small app against a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from clearsite.cli.screen import ScreenInputError, screen_command
from clearsite.core.models import Network, Site
from clearsite.store.db import open_database
from clearsite.store.sites import SiteError, add_site

QUOTE = """\
Vendor,Make,Part No,Item Code,Description,Qty
Norbain SD,HiLook,IPC-B140H,,4MP bullet,12
Norbain SD,Axis,P3245-LVE,,[bold red]fixed dome[/bold red],4
Norbain SD,,,,Installation labour,1
Norbain SD,Acme,XJ-200,,IP camera,0
TOTAL,,,,,
"""
ATTESTATIONS = """\
- {supplier: Norbain SD Ltd, statement: does not provide covered equipment, signed: 2026-01-01,
   expires: 2026-06-01, source: rep.pdf}
"""


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def main() -> None:
        """A stand-in for the main clearsite app."""

    app.command("screen")(screen_command)
    return app


@pytest.fixture
def files(tmp_path: Path, db_url: str) -> tuple[Path, Path]:
    engine = open_database(db_url)
    with engine.begin() as conn:
        add_site(conn, Site("Whitehall Annex", "Dept A", holds_secret=True, networks=(Network("10.1.0.0/16", True),)))
        add_site(conn, Site("Regional Depot", "Dept A"))
    engine.dispose()
    quote = tmp_path / "quote.csv"
    quote.write_text(QUOTE)
    attestations = tmp_path / "attestations.yaml"
    attestations.write_text(ATTESTATIONS)
    return quote, attestations


def run(app: typer.Typer, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["screen", *args])


def test_json_output_is_the_decision_list(app, files, db_url):
    quote, attestations = files
    result = run(app, str(quote), "--site", "whitehall  annex", "--format", "json", "--attestations",
                 str(attestations), "--as-of", "2026-11-29", "--db", db_url)
    assert result.exit_code == 0, result.output
    decisions = json.loads(result.stdout)
    assert [(d["line"], d["decision"]) for d in decisions] == [(1, "deny"), (2, "allow"), (3, "allow"), (4, "review")]
    assert decisions[0]["producer"]["id"] == "hikvision" and decisions[0]["source"] == "quote.csv row 2"
    assert decisions[3]["errors"] == ["quantity 0 must be at least 1"]
    assert any("expired on 2026-06-01" in r for r in decisions[0]["reasons"])
    assert "skipped: quote.csv: row 6: no brand, model, SKU or description ('TOTAL'); skipped" in result.stderr
    assert "4 lines screened for 'Whitehall Annex' on 2026-11-29: 1 deny, 1 review, 2 allow" in result.stderr


def test_table_output_shows_supplier_text_as_text(app, files, db_url):
    quote, _ = files
    result = run(app, str(quote), "--site", "Regional Depot", "--as-of", "2026-11-29", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "Regional Depot (not sensitive)" in result.stdout
    assert "review" in result.stdout and "O4" in result.stdout
    assert "quantity 0 must be at least 1" in result.stdout


def test_markup_in_a_cell_is_printed_as_written(app, files, db_url, tmp_path):
    quote = tmp_path / "markup.csv"
    quote.write_text("Make,Model\n[b]Acme[/b],X1\n")
    result = run(app, str(quote), "--site", "Regional Depot", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "[b]Acme[/b]" in result.stdout


@pytest.mark.parametrize("args, error, message", [
    (["missing.csv", "--site", "Regional Depot"], ScreenInputError, "missing.csv: cannot read the quote"),
    (["QUOTE", "--site", "Nowhere"], SiteError, "unknown site 'Nowhere'"),
    (["QUOTE", "--site", "Regional Depot", "--as-of", "29/11/2026"], ScreenInputError,
     "--as-of '29/11/2026': expected a date as YYYY-MM-DD"),
    (["QUOTE", "--site", "Regional Depot", "--policy", "uk-nope"], ValueError, "unknown policy 'uk-nope'"),
])
def test_bad_input_raises_a_one_line_value_error(app, files, db_url, args, error, message):
    quote, _ = files
    args = [str(quote) if a == "QUOTE" else a for a in args]
    result = run(app, *args, "--db", db_url)
    assert isinstance(result.exception, error) and isinstance(result.exception, ValueError)
    assert str(result.exception).startswith(message) and "\n" not in str(result.exception)
