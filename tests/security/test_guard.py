"""formats.guard without the command line: each check, and the files it must let through."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from clearsite.core.models import ScannedHost
from clearsite.formats.guard import MAX_LINE_BYTES, check_lines, check_workbook, read_input_file
from clearsite.formats.register import RegisterError, open_register, read_register_file
from clearsite.formats.scans import ScanParseError, ScanResult, parse_scan
from clearsite.formats.scans.records import clean_hosts
from tests.security.workbooks import row, small_sheet, write_workbook

pytestmark = pytest.mark.security


def workbook_bytes(tmp_path: Path, *rows: str, extra: dict[str, bytes] | None = None) -> bytes:
    return write_workbook(tmp_path / "w.xlsx", small_sheet(*rows), extra).read_bytes()


def test_an_ordinary_workbook_passes_and_reads(tmp_path):
    data = workbook_bytes(tmp_path, *(row(n, "Axis", "P3245-LVE", f"ACCC8E{n:06d}", "Site A") for n in range(2, 500)))
    check_workbook(data, "w.xlsx", RegisterError)
    rows = list(open_register(data, "w.xlsx"))
    assert len(rows) == 498 and rows[0].row_number == 2


def test_rows_of_a_workbook_keep_the_sheet_numbers_when_it_starts_lower_down(tmp_path):
    sheet = [b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             b'<sheetData>', row(3, "Make", "Serial", "Site").encode(), row(4, "Axis", "ACCC8E1", "A").encode(),
             b"</sheetData></worksheet>"]
    data = write_workbook(tmp_path / "low.xlsx", sheet).read_bytes()
    reader = open_register(data, "low.xlsx")
    assert reader.header_row == 3
    assert [r.row_number for r in reader] == [4]


def test_cells_placed_by_order_alone_are_followed_to_their_extent(tmp_path):
    # no references: each row is the next, each cell the next column; 1,200 rows x 1,300 cells > 1.5M
    wide = "<row>" + "<c><v>1</v></c>" * 1300 + "</row>"
    data = workbook_bytes(tmp_path, wide, *["<row><c><v>1</v></c></row>"] * 1200)
    with pytest.raises(RegisterError, match="spans more than 1,500,000 cells"):
        check_workbook(data, "w.xlsx", RegisterError)


def test_one_long_shared_string_copied_into_every_cell_is_refused(tmp_path):
    incompressible = os.urandom(1_000_000).hex().encode()  # so the ratio check is not what refuses it
    shared = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
              + incompressible + b"</t></si></sst>")
    cells = "".join(f'<row r="{n}"><c r="A{n}" t="s"><v>0</v></c></row>' for n in range(2, 200))
    data = workbook_bytes(tmp_path, cells, extra={"xl/sharedStrings.xml": shared})
    with pytest.raises(RegisterError, match="bytes of text"):
        check_workbook(data, "w.xlsx", RegisterError)


def test_a_part_that_inflates_past_its_declared_size_is_refused(tmp_path):
    data = bytearray(workbook_bytes(tmp_path, row(2, "Axis", "P3245", "ACCC8E1", "A")))
    # shrink the sheet's declared size in the central directory: the reader must not trust it
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    sheet = archive.getinfo("xl/worksheets/sheet1.xml")
    marker = data.find(b"xl/worksheets/sheet1.xml", data.find(b"PK\x01\x02"))
    header = marker - 46
    assert data[header:header + 4] == b"PK\x01\x02"
    data[header + 24:header + 28] = (sheet.file_size // 2).to_bytes(4, "little")
    with pytest.raises(RegisterError, match="damaged spreadsheet"):
        check_workbook(bytes(data), "w.xlsx", RegisterError)


@pytest.mark.parametrize("suffix", [".xls", ".xlsb", ".ods"])
def test_workbooks_whose_size_cannot_be_checked_are_refused_with_what_to_do(suffix):
    with pytest.raises(RegisterError, match=r"save it as \.xlsx or CSV"):
        check_workbook(b"PK\x03\x04", f"estates{suffix}", RegisterError)


def test_a_long_line_is_measured_exactly():
    check_lines(b"a" * MAX_LINE_BYTES + b"\nb\n", "f.csv", RegisterError)  # exactly the limit passes
    with pytest.raises(RegisterError, match=r"f.csv: line 3 is 1,048,577 bytes long"):
        check_lines(b"h\nx\n" + b"a" * (MAX_LINE_BYTES + 1), "f.csv", RegisterError)
    check_lines(b"x,y\r" * 1_000_000, "mac.csv", RegisterError)  # old Mac line ends are line ends


def test_a_register_file_must_be_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(RegisterError, match=r"^pipe.csv: a named pipe \(FIFO\), not a regular file"):
        read_register_file(fifo)  # returns at once: nothing is waited for
    with pytest.raises(RegisterError, match="a directory, not a regular file"):
        read_register_file(tmp_path)
    with pytest.raises(RegisterError, match="a device, not a regular file"):
        read_register_file(Path("/dev/zero"))
    with pytest.raises(RegisterError, match=r"gone\.csv: cannot read the register: No such file"):
        read_register_file(tmp_path / "gone.csv")
    (tmp_path / "ok.csv").write_bytes(b"Make,Serial\nAxis,1\n")
    assert read_register_file(tmp_path / "ok.csv") == b"Make,Serial\nAxis,1\n"


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        out.truncate(2_000)
    with pytest.raises(ScanParseError, match=r"big\.csv: 2,000 bytes is more than the 1,000"):
        read_input_file(big, ScanParseError, limit=1_000)


def test_scan_values_lose_control_and_bidi_characters():
    table = "MAC Address,IP Address,Hostname\n00:11:22:33:44:55,127.0.0.5,cam\u202e01\x1b[2J\x9b\n".encode()
    assert [h.hostname for h in parse_scan(table, "arp.csv")] == ["cam01 [2J"]  # ESC read as a space, as before


def test_a_host_value_no_parser_cleaned_is_cleaned_naming_host_and_field():
    host = ScannedHost("127.0.0.5", hostname="cam\u202e01", extra={"port\x00": "Gi0/1\x1b[2J"})
    result = clean_hosts(ScanResult([host], source="arp.csv"))
    assert (host.hostname, host.extra) == ("cam01", {"port": "Gi0/1[2J"})
    assert [str(e) for e in result.errors] == [
        "arp.csv: host 127.0.0.5: hostname: control or bidi characters removed",
        "arp.csv: host 127.0.0.5: port: control or bidi characters removed",
    ]


def test_an_attestation_with_a_hidden_character_is_refused_naming_entry_and_field():
    from clearsite.formats.attestations import AttestationError, parse_attestations

    text = ("supplier,statement,signed,expires,source\n"
            "Acme\u202e,no NIL-subject producer in the quoted equipment,2026-01-01,2027-01-01,rep.pdf\n")
    with pytest.raises(AttestationError, match=r"^signed\.csv: row 2: supplier holds control or bidi characters"):
        parse_attestations(text.encode(), "signed.csv")


def test_a_central_directory_of_a_million_entries_is_refused_before_it_is_parsed():
    # 46-byte directory records with empty names: ~46 MB that zipfile would turn into a million objects
    record = b"PK\x01\x02" + bytes(42)
    with pytest.raises(RegisterError, match="more than 1,000 parts"):
        check_workbook(b"PK\x03\x04" + record * 1_000_000, "w.xlsx", RegisterError)


def test_a_declared_size_smaller_than_the_data_stops_the_reader_too(tmp_path):
    # calamine (the zip crate) stops at the declared size, as the guard does: the check bounds both
    from python_calamine import CalamineWorkbook

    data = bytearray(workbook_bytes(tmp_path, *(row(n, "Axis", "P3245", f"ACCC8E{n:06d}", "A") for n in range(2, 2000))))
    marker = data.find(b"xl/worksheets/sheet1.xml", data.find(b"PK\x01\x02"))
    data[marker - 46 + 24:marker - 46 + 28] = (2000).to_bytes(4, "little")
    local = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml").header_offset
    data[local + 22:local + 26] = (2000).to_bytes(4, "little")
    with pytest.raises(Exception, match="larger than its declared uncompressed size"):
        CalamineWorkbook.from_filelike(io.BytesIO(bytes(data))).get_sheet_by_name("Sheet1")
