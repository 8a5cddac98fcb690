"""`clearsite screen --fail-on deny|review`: a procurement pipeline gates on the exit status.

Exit 1 when any line's decision is at least as severe as the gate (review also stops a deny); the
decisions printed are the same with or without the gate.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HEADER = "Vendor,Make,Part No,Description,Qty\n"
DENY = "Norbain SD,HiLook,IPC-B140H,4MP bullet,12\n"
ALLOW = "Norbain SD,Axis,P3245-LVE,fixed dome,4\n"
REVIEW = "Norbain SD,Acme,XJ-200,IP camera,0\n"  # quantity 0: a line with an error is never allowed


@pytest.fixture
def quote(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    cli("site", "add", "Whitehall Annex", "--department", "Dept A", "--holds-secret")

    def write(*lines: str) -> str:
        path = tmp_path / "quote.csv"
        path.write_text(HEADER + "".join(lines))
        return str(path)

    return write


def screen(cli, quote_file: str, *gate: str):  # type: ignore[no-untyped-def]
    return cli("screen", quote_file, "--site", "Whitehall Annex", "--as-of", "2026-11-29", "--format", "json",
               *gate, check=False)


def test_the_lines_decide_as_the_gate_tests_assume(cli, quote):
    decisions = json.loads(screen(cli, quote(DENY, ALLOW, REVIEW)).stdout)
    assert [d["decision"] for d in decisions] == ["deny", "allow", "review"]


@pytest.mark.parametrize(("lines", "gate", "status"), [
    ((DENY, ALLOW), "deny", 1),
    ((ALLOW, REVIEW), "deny", 0),
    ((ALLOW, REVIEW), "review", 1),
    ((DENY,), "review", 1),
    ((ALLOW,), "review", 0),
])
def test_fail_on_exits_1_when_a_line_is_at_least_that_severe(cli, quote, lines, gate, status):
    result = screen(cli, quote(*lines), "--fail-on", gate)
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr


def test_the_gate_leaves_the_output_unchanged(cli, quote):
    quote_file = quote(DENY, ALLOW, REVIEW)
    ungated = screen(cli, quote_file)
    gated = screen(cli, quote_file, "--fail-on", "review")
    assert ungated.returncode == 0 and gated.returncode == 1
    assert gated.stdout == ungated.stdout
    assert "--fail-on review: 2 line(s) at review or worse" in gated.stderr


def test_without_a_gate_a_denied_line_still_exits_0(cli, quote):
    assert screen(cli, quote(DENY)).returncode == 0


def test_an_unknown_gate_is_a_usage_error(cli, quote):
    result = screen(cli, quote(ALLOW), "--fail-on", "allow")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
