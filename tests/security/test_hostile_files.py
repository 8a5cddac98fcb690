"""Hostile files through the real command line: each is refused in one line naming the file, exit 2,
nothing stored, and the process stays small while refusing it.

The CLI runs in a subprocess of a small wrapper that caps its address space (so a regression fails
here instead of taking the machine down) and reports its peak resident memory.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.security.measure import ADDRESS_SPACE_CAP, DEADLINE_S, MEASURED, PEAK_LIMIT_KB
from tests.security.workbooks import row, small_sheet, write_workbook

pytestmark = pytest.mark.security

SITE = "Example House"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    peak_kb: int

    def refused_in_one_line(self, file_name: str) -> str:
        """The one stderr line, after checking the refusal's shape."""
        lines = self.stderr.strip().splitlines()
        assert self.returncode == 2, (self.returncode, self.stderr[-2000:])
        assert len(lines) == 1, lines[:5]
        assert file_name in lines[0]
        return lines[0]


@pytest.fixture
def clearsite(tmp_path: Path, db_url: str) -> Callable[..., Run]:
    """Run `clearsite ARGS` against a fresh SQLite file, measuring its peak memory."""

    def run(*args: str) -> Run:
        peak_file = tmp_path / "peak_kb"
        env = {**os.environ, "CLEARSITE_DATABASE_URL": db_url}
        command = [sys.executable, "-c", MEASURED, str(ADDRESS_SPACE_CAP), str(peak_file),
                   sys.executable, "-m", "clearsite", *args]
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the wrapper and the hanging clearsite under it
            process.communicate()
            pytest.fail(f"clearsite {' '.join(args)} was still running after {DEADLINE_S} s (hanging)")
        peak = int(peak_file.read_text()) if peak_file.exists() else 0
        return Run(process.returncode, stdout, stderr, peak)

    return run


@pytest.fixture
def site(clearsite: Callable[..., Run]) -> str:
    added = clearsite("site", "add", SITE, "--department", "Dept A", "--network", "127.20.0.0/16")
    assert added.returncode == 0, added.stderr
    return SITE


def stored(db_url: str) -> tuple[int, int, int]:
    """Sources, observations and devices in the database."""
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        return tuple(conn.execute(f"select count(*) from {t}").fetchone()[0]  # type: ignore[return-value]
                     for t in ("sources", "observations", "devices"))


# --------------------------------------------------------------------------- workbooks


def test_a_zip_bomb_register_is_refused_before_it_inflates(clearsite, site, zip_bomb, db_url):
    result = clearsite("import", "register", str(zip_bomb), "--site", site)
    line = result.refused_in_one_line("estates.xlsx")
    assert "inflates to" in line
    assert result.peak_kb <= PEAK_LIMIT_KB, f"peak {result.peak_kb // 1024} MB"
    assert stored(db_url) == (0, 0, 0)


def test_a_zip_bomb_quote_is_refused_before_it_inflates(clearsite, site, zip_bomb):
    result = clearsite("screen", str(zip_bomb), "--site", site)
    assert "inflates to" in result.refused_in_one_line("estates.xlsx")
    assert result.peak_kb <= PEAK_LIMIT_KB, f"peak {result.peak_kb // 1024} MB"


def test_a_sheet_spanning_a_billion_cells_from_two_is_refused(clearsite, site, tmp_path, db_url):
    # A1 and XFD1048576: calamine would allocate every cell between them (512 GB) and abort the process.
    sheet = small_sheet('<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')
    path = write_workbook(tmp_path / "sparse.xlsx", sheet)
    result = clearsite("import", "register", str(path), "--site", site)
    assert "spans more than" in result.refused_in_one_line("sparse.xlsx")
    assert stored(db_url) == (0, 0, 0)


def test_a_workbook_of_thousands_of_parts_is_refused(clearsite, site, tmp_path, db_url):
    extra = {f"xl/media/padding{n}.xml": b"<x/>" for n in range(5000)}
    path = write_workbook(tmp_path / "parts.xlsx", small_sheet(row(2, "Axis", "P3245-LVE", "ACCC8E1", SITE)), extra)
    result = clearsite("import", "register", str(path), "--site", site)
    assert "more than 1,000 parts" in result.refused_in_one_line("parts.xlsx")
    assert stored(db_url) == (0, 0, 0)


def test_a_workbook_holding_another_archive_is_refused(clearsite, site, tmp_path, db_url):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("sheet.xml", b"<x/>" * 1000)
    extra = {"xl/embeddings/inner.zip": inner.read_bytes()}
    path = write_workbook(tmp_path / "nested.xlsx", small_sheet(row(2, "Axis", "P3245-LVE", "ACCC8E1", SITE)), extra)
    result = clearsite("import", "register", str(path), "--site", site)
    assert "another archive" in result.refused_in_one_line("nested.xlsx")
    assert stored(db_url) == (0, 0, 0)


# --------------------------------------------------------------------------- not files, endless files


def test_a_ten_megabyte_csv_line_is_refused_naming_the_line(clearsite, site, tmp_path, db_url):
    path = tmp_path / "long.csv"
    path.write_bytes(b"Make,Model,Serial,Site\n" + b"a," * 5_000_000 + b"\n")
    result = clearsite("import", "register", str(path), "--site", site)
    assert "line 2 is 10,000,000 bytes long" in result.refused_in_one_line("long.csv")
    assert result.peak_kb <= PEAK_LIMIT_KB, f"peak {result.peak_kb // 1024} MB"
    assert stored(db_url) == (0, 0, 0)


@pytest.mark.parametrize("door", ["nmap", "masscan", "switch"])
def test_a_fifo_given_as_a_scan_file_is_refused_not_waited_on(clearsite, site, tmp_path, door, db_url):
    fifo = tmp_path / "scan.xml"
    os.mkfifo(fifo)
    result = clearsite("import", door, str(fifo), "--site", site)
    assert "named pipe" in result.refused_in_one_line("scan.xml")
    assert stored(db_url) == (0, 0, 0)


def test_a_device_behind_a_symlink_is_refused_as_a_scan_file(clearsite, site, tmp_path, db_url):
    link = tmp_path / "hosts.csv"
    link.symlink_to("/dev/zero")
    result = clearsite("import", "switch", str(link), "--site", site)
    assert "a device, not a regular file" in result.refused_in_one_line("hosts.csv")
    assert result.peak_kb <= PEAK_LIMIT_KB
    assert stored(db_url) == (0, 0, 0)


def test_a_fifo_given_as_attestations_is_refused_not_waited_on(clearsite, site, tmp_path):
    quote = tmp_path / "quote.csv"
    quote.write_text("Supplier,Brand,Model\nAcme,Axis,P3245-LVE\n")
    fifo = tmp_path / "signed.yaml"
    os.mkfifo(fifo)
    result = clearsite("screen", str(quote), "--site", site, "--attestations", str(fifo))
    assert "named pipe" in result.refused_in_one_line("signed.yaml")


def test_a_fifo_given_as_a_register_is_refused_not_waited_on(clearsite, site, tmp_path, db_url):
    fifo = tmp_path / "estates.csv"
    os.mkfifo(fifo)
    result = clearsite("import", "register", str(fifo), "--site", site)
    assert "named pipe" in result.refused_in_one_line("estates.csv")
    assert stored(db_url) == (0, 0, 0)


def test_a_fifo_given_as_a_quote_is_refused_not_waited_on(clearsite, site, tmp_path):
    fifo = tmp_path / "quote.csv"
    os.mkfifo(fifo)
    result = clearsite("screen", str(fifo), "--site", site)
    assert "named pipe" in result.refused_in_one_line("quote.csv")


def test_dev_zero_behind_a_symlink_is_refused_as_a_register(clearsite, site, tmp_path, db_url):
    link = tmp_path / "estates.csv"
    link.symlink_to("/dev/zero")
    result = clearsite("import", "register", str(link), "--site", site)
    assert "a device, not a regular file" in result.refused_in_one_line("estates.csv")
    assert result.peak_kb <= PEAK_LIMIT_KB
    assert stored(db_url) == (0, 0, 0)


@pytest.mark.parametrize("command", [["import", "register"], ["screen"]])
def test_a_directory_is_refused_as_not_a_regular_file(clearsite, site, tmp_path, command, db_url):
    folder = tmp_path / "estates"
    folder.mkdir()
    result = clearsite(*command, str(folder), "--site", site)
    assert "a directory, not a regular file" in result.refused_in_one_line("estates")
    assert stored(db_url) == (0, 0, 0)


def test_a_directory_is_refused_as_a_scan_file(clearsite, site, tmp_path, db_url):
    folder = tmp_path / "scans"
    folder.mkdir()
    result = clearsite("import", "nmap", str(folder), "--site", site)
    assert "a directory, not a regular file" in result.refused_in_one_line("scans")
    assert stored(db_url) == (0, 0, 0)


# --------------------------------------------------------------------------- control characters


_ESCAPE = "\x1b]0;owned\x07\x1b[2J"  # set the window title, clear the screen
_OVERRIDE = "\u202e"  # right-to-left override: "lobby\u202e1gnir" shows as "lobbyring1"


def test_control_and_bidi_characters_in_register_cells_are_removed_and_named(clearsite, site, tmp_path, db_url):
    path = tmp_path / "estates.csv"
    filler = "".join(f"Axis,P3245-LVE,ACCC8E{n:06d},{SITE},store\n" for n in range(200))  # NUL past the sniffed start
    path.write_text("Make,Model,Serial,Site,Location\n"
                    f"Axis{_ESCAPE},P3245-LVE,ACCC8E123456,{SITE},lobby{_OVERRIDE}1gnir\n"
                    + filler +
                    f"Hikvision,DS-2CD2143G2-I,DS-2CD2143G2-I2021031\x00AAWRJ22681782,{SITE},\x9bcar park\n")
    result = clearsite("import", "register", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "estates.csv: row 2: Make: control or bidi characters removed" in result.stderr
    assert "estates.csv: row 2: Location: control or bidi characters removed" in result.stderr
    assert "estates.csv: row 203: Serial: control or bidi characters removed" in result.stderr
    shown = clearsite("devices", "--format", "json").stdout
    for character in ("\\u001b", "\\u0007", "\\u0000", "\\u009b", "\\u202e"):
        assert character not in shown.lower()
    serials = {d["serial"] for d in json.loads(shown)}
    assert "DS-2CD2143G2-I2021031AAWRJ22681782" in serials
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        raw = " ".join(str(r) for r in conn.execute("select data from observations"))
    assert "\\x00" not in raw and "\\x1b" not in raw and "\u202e" not in raw and "\\u202e" not in raw


def test_a_quote_line_with_a_bidi_override_goes_to_review_saying_why(clearsite, site, tmp_path):
    quote = tmp_path / "quote.csv"
    # "noisivkiH" behind U+202E reads as "Hikvision" on screen while matching nothing
    quote.write_text(f"Supplier,Brand,Model\nAcme,{_OVERRIDE}noisivkiH,DS-2CD2143G2-I\n", encoding="utf-8")
    result = clearsite("screen", str(quote), "--site", site, "--format", "json")
    assert result.returncode == 0, result.stderr
    lines = json.loads(result.stdout)
    assert lines[0]["decision"] in ("review", "deny")
    assert any("brand: control or bidi characters removed" in e for e in lines[0]["errors"])
    assert "\u202e" not in result.stdout and "\\u202e" not in result.stdout.lower()
