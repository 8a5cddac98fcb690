"""Tables print what registers and devices said, character for character: Rich never reads data as
markup or emoji codes (`AB:33` holds the emoji code `:ab:`; a model may be written `[bold]IPC[/bold]`)."""

from __future__ import annotations

from pathlib import Path

import pytest

SITE = "Inj :ab: House"
MAC = "AC:CC:8E:AB:33:2F"
MODEL = "[bold]IPC[/bold]"
EMOJI = "\N{NEGATIVE SQUARED AB}"


@pytest.fixture
def imported(cli, tmp_path: Path) -> None:
    cli("site", "add", SITE, "--department", "Dept [red]A[/red]", "--network", "127.31.0.0/16")
    register = tmp_path / "register.csv"
    register.write_text(f"Manufacturer,Model,MAC Address,IP,Building\nAxis,{MODEL},{MAC},127.31.0.5,{SITE}\n"
                        "Hikvision,[/],,127.31.0.6,Inj :ab: House\n")
    cli("import", "register", str(register))


def test_site_list_prints_a_site_name_with_an_emoji_code_as_written(cli, imported):
    result = cli("site", "list")
    assert SITE in result.stdout and "Dept [red]A[/red]" in result.stdout and EMOJI not in result.stdout


def test_devices_prints_a_model_written_as_markup_literally_and_does_not_crash(cli, imported):
    result = cli("devices", check=False)
    assert result.returncode == 0, result.stderr
    # (models are shown in their canonical upper case; the brackets are what matters)
    assert MODEL.upper() in result.stdout.upper() and "[/]" in result.stdout and SITE in result.stdout
    assert EMOJI not in result.stdout and "MarkupError" not in result.stderr


def test_reconcile_prints_a_mac_holding_an_emoji_code_as_written(cli, imported):
    result = cli("reconcile", "--site", SITE)
    assert MAC in result.stdout and EMOJI not in result.stdout


def test_tables_never_pass_terminal_escapes_or_bidi_overrides_through(cli):
    # A name stored before input cleaning (or given on the command line) may hold an escape that
    # retitles the window, or a right-to-left override that reorders what the officer reads.
    cli("site", "add", "Esc\x1b]0;pwned\x07 House\u202e", "--department", "Dept A", "--network", "127.32.0.0/16")
    result = cli("site", "list")
    assert "Esc]0;pwned House" in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\u202e" not in result.stdout
