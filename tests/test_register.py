"""Reading messy registers: header synonyms, dates, junk rows, hostile cells, XLSX."""

from __future__ import annotations

import contextlib
import io
from datetime import date
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from clearsite.formats.register import RegisterError, load_mapping, parse_date, parse_register

TODAY = date(2026, 11, 29)


def csv_bytes(text: str) -> bytes:
    return text.strip().encode() + b"\n"


@pytest.mark.parametrize(("text", "expected"), [
    ("2021-03-04", date(2021, 3, 4)),
    ("04/03/2021", date(2021, 3, 4)),  # UK registers are day first
    ("4 Mar 2021", date(2021, 3, 4)),
    ("March 2021", date(2021, 3, 1)),
    ("44256", date(2021, 3, 1)),  # an Excel serial day number
    ("2019", date(2019, 1, 1)),
    ("", None),
])
def test_mixed_date_formats(text, expected):
    assert parse_date(text, TODAY) == expected


@pytest.mark.parametrize("text", ["soon", "31/31/2020", "1850-01-01", "2090-01-01"])
def test_bad_dates_are_refused_with_the_text(text):
    with pytest.raises(ValueError, match="date"):
        parse_date(text, TODAY)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_parse_date_only_ever_raises_value_error(text):
    with contextlib.suppress(ValueError):
        parse_date(text, TODAY)


def test_header_synonyms_title_rows_and_junk():
    data = csv_bytes("""
CCTV asset register,,,,,
,,,,,
Manufacturer,Part No,S/N,MAC Address,Building,Install Date
Hik-Vision,DS-2CD2143G2-I,ABC123,4c-bd-8f-00-3d-44,HQ,04/03/2021
,,,,,
TOTAL,,,,,
Manufacturer,Part No,S/N,MAC Address,Building,Install Date
Axis,P3245-LVE,,not-a-mac,HQ,someday
""")
    parsed = parse_register(data, "reg.csv", today=TODAY)
    assert parsed.header_row == 3
    assert parsed.columns == {"brand": "Manufacturer", "model": "Part No", "serial": "S/N", "mac": "MAC Address",
                              "site": "Building", "install_date": "Install Date"}
    assert [r.row_number for r in parsed.rows] == [4, 8]
    first = parsed.rows[0]
    assert first.values["mac"] == "4C:BD:8F:00:3D:44" and first.install_date == date(2021, 3, 4)
    assert [p.row_number for p in parsed.problems] == [6, 7]
    assert parsed.problems[0].describe("reg.csv") == "reg.csv: row 6: a totals line ('TOTAL'), not a device; skipped"
    assert parsed.problems[1].describe("reg.csv") == "reg.csv: row 7: repeated header row"
    assert parsed.rows[1].warnings == ("install date ignored: not a date: 'someday'",
                                       "MAC ignored: 'not-a-mac' is not a MAC address")
    assert parsed.blank_rows == 1


JUNK_REGISTER = """Make,Model,Serial,MAC,Site,Notes
Hikvision,DS-2CD2143G2-I,,,HQ,dome
n/a,n/a,n/a,n/a,n/a,n/a
N/A,N/A,,,,
TOTAL,,,,HQ,74 devices
Grand total: 74 devices,,,,,
Sub-total,,,,Annex,
Total Security,TS-100,,,HQ,a maker whose name starts with Total
Total,,TS123456,,HQ,a Total badge with a serial is a device
Axis,N/A,ACCC8E123456,,HQ,model unknown but the serial is real
Unknown,DS-2CD2143G2-I,,,HQ,make not known
TotalCam,,,,HQ,
"""


def test_placeholder_and_totals_rows_are_skipped_and_named():
    parsed = parse_register(csv_bytes(JUNK_REGISTER), "r.csv")
    skipped = {p.row_number: p.reason for p in parsed.problems}
    assert skipped[3] == "only placeholders ('n/a, n/a, n/a, n/a, n/a, n/a'), not a device; skipped"
    assert skipped[4] == "only placeholders ('N/A, N/A'), not a device; skipped"
    assert skipped[5] == "a totals line ('TOTAL, HQ, 74 devices'), not a device; skipped"
    assert skipped[6].startswith("a totals line ('Grand total: 74 devices')")
    assert skipped[7].startswith("a totals line ('Sub-total, Annex')")
    kept = {r.row_number: r.values for r in parsed.rows}
    assert sorted(kept) == [2, 8, 9, 10, 11, 12]  # near misses: real devices stay
    assert kept[8]["brand"] == "Total Security" and kept[9]["serial"] == "TS123456"
    assert kept[10] == {"brand": "Axis", "serial": "ACCC8E123456", "site": "HQ",
                        "description": "model unknown but the serial is real"}
    assert "brand" not in kept[11] and kept[11]["model"] == "DS-2CD2143G2-I"
    assert kept[12]["brand"] == "TotalCam"


def test_row_without_any_identifying_field_is_junk():
    parsed = parse_register(csv_bytes("Make,Model,Site,Notes\n,,HQ,spare bracket\n"), "r.csv")
    assert parsed.rows == []
    assert "no make, model, serial or MAC" in parsed.problems[0].reason


def test_location_column_is_not_the_site():
    parsed = parse_register(csv_bytes("Make,Model,Location\nAxis,P3245,car park north\n"), "r.csv", site_given=True)
    assert parsed.columns["location"] == "Location" and "site" not in parsed.columns


def test_no_site_column_and_no_site_option_is_refused_in_one_line():
    with pytest.raises(RegisterError, match=r"^r.csv: no site column .* give --site NAME$"):
        parse_register(csv_bytes("Make,Model\nAxis,P3245\n"), "r.csv")


def test_no_header_is_refused_with_advice():
    with pytest.raises(RegisterError, match=r"no header row found.*--mapping"):
        parse_register(csv_bytes("a,b,c\n1,2,3\n"), "r.csv", site_given=True)


def test_mapping_file_names_odd_columns(tmp_path: Path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text("Kit maker: brand\nKit ref: model\n")
    parsed = parse_register(csv_bytes("Kit maker,Kit ref\nAxis,P3245\n"), "r.csv", load_mapping(mapping),
                            site_given=True)
    assert parsed.rows[0].values == {"brand": "Axis", "model": "P3245"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("Kit maker: colour\n")
    with pytest.raises(RegisterError, match="unknown field 'colour'"):
        load_mapping(bad)


def test_semicolon_csv_in_windows_encoding():
    data = "Marque;Model;Serial\nBosch;NDE-3502-AL;ñ123\n".replace("Marque", "Make").encode("cp1252")
    parsed = parse_register(data, "r.csv", site_given=True)
    assert parsed.rows[0].values["serial"] == "ñ123"


def test_xlsx_register_with_real_dates():
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["Brand", "Model Number", "Serial Number", "Date Installed"])
    sheet.write_row(1, 0, ["Dahua", "IPC-HFW2431S-S-S2", "4K049EBPAG1D7E7"])
    sheet.write_datetime(1, 3, __import__("datetime").datetime(2022, 12, 1), book.add_format({"num_format": "dd/mm/yyyy"}))
    book.close()
    parsed = parse_register(buffer.getvalue(), "r.xlsx", site_given=True)
    assert parsed.rows[0].install_date == date(2022, 12, 1)
    assert parsed.rows[0].values["model"] == "IPC-HFW2431S-S-S2"


def test_binary_or_corrupt_files_get_one_line_errors():
    with pytest.raises(RegisterError, match=r"^r\.xlsx: not a readable spreadsheet"):
        parse_register(b"PK\x03\x04 not really a zip", "r.xlsx")
    with pytest.raises(RegisterError, match="binary data"):
        parse_register(b"\x00\x01\x02" * 100, "r.csv")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=6), max_size=8))
def test_any_table_parses_or_fails_with_register_error(rows):
    import csv

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Make", "Model", "Serial", "MAC", "Site"])
    writer.writerows(rows)
    try:
        parsed = parse_register(out.getvalue().encode(), "r.csv")
    except RegisterError:
        return
    for row in parsed.rows:
        assert any(row.values.get(f) for f in ("brand", "model", "serial", "mac"))


def _chunked_rows(data: bytes, size: int, parts: int) -> list[list[tuple[int, str]]]:
    """Every part's chunks, put back in file order as a merger would: (row number, kind) per item."""
    from clearsite.formats.register import open_register

    per_part = [list(open_register(data, "r.csv", today=TODAY).row_chunks(size, part, parts)) for part in range(parts)]
    merged = []
    for position in range(sum(len(chunks) for chunks in per_part)):
        chunks = per_part[position % parts]
        assert position // parts < len(chunks), "a part is missing a chunk before the end"
        merged.append([(item.row_number, type(item).__name__) for item in chunks[position // parts]])
    return merged


@pytest.mark.parametrize("quoted", [False, True])
@pytest.mark.parametrize(("size", "parts"), [(1, 2), (2, 3), (3, 2), (5, 4), (50, 2)])
def test_parts_share_a_register_exactly(quoted: bool, size: int, parts: int) -> None:
    """Parts pass over the others' chunks (line by line when no field can span lines) and still agree."""
    rows = [f"Site A,Hikvision,DS-2CD{i:04d},SN{i:06d}" for i in range(23)]
    rows[4] = ""  # a blank line
    rows[9] = "junk"
    if quoted:  # a field spanning two lines: records are no longer lines
        rows[6] = 'Site A,Axis,"P3245\nLVE",ACCC8E000006'
    data = ("Site,Make,Model,Serial\n" + "\n".join(rows) + "\n").encode()
    whole = [(item.row_number, type(item).__name__) for item in open_register_items(data)]
    merged = _chunked_rows(data, size, parts)
    assert [item for chunk in merged for item in chunk] == whole
    assert merged == _chunked_rows(data, size, 1)


def open_register_items(data: bytes) -> list:
    from clearsite.formats.register import open_register

    return list(open_register(data, "r.csv", today=TODAY))
