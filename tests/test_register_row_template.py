"""register_row_template, the register import's shortcut, gives the very template identify_template gives from
the row's evidence list: the same memo key built from the fields, for every row of two registers and the
corners of the rule (agent-looking file names, description and device type together, blank and bad values)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from clearsite.core.identify import identify_template, register_row_evidence, register_row_template
from clearsite.core.identify.engine import _CACHES
from clearsite.core.knowledge import Knowledge
from clearsite.formats.register import RegisterRow, open_register
from clearsite.services import demo_data

AS_OF = date(2026, 11, 29)


def _rows(path: Path) -> list[RegisterRow]:
    reader = open_register(path.read_bytes(), path.name, today=AS_OF)
    return [row for row in reader if isinstance(row, RegisterRow)]


def _same(source: str, fields: dict[str, str | None], knowledge: Knowledge, when: date | None) -> None:
    expected = identify_template(register_row_evidence(source, fields), knowledge, when)
    assert register_row_template(source, fields, knowledge, when) is expected  # the memoised object itself


def test_every_row_of_two_registers_gets_the_template_of_its_evidence(tmp_path: Path, packaged_kb: Knowledge):
    demo, large = tmp_path / "demo.csv", tmp_path / "large.csv"
    demo_data.write_demo_register(demo)
    demo_data.write_large_register(large, 3000, seed=7, sites=20)
    rows = _rows(demo) + _rows(large)
    assert len(rows) > 3000
    for row in rows:
        fields: dict[str, str | None] = {k: v for k, v in row.values.items() if k != "site"}
        _same(f"register.csv row {row.row_number}", fields, packaged_kb, row.install_date)


@pytest.mark.parametrize("source", ["register.csv row 4", "agent a observation b.csv row 4", "agent only.csv row 4"])
@pytest.mark.parametrize("fields", [
    {"brand": "Hikvision", "model": "DS-2CD2143G0-I", "serial": "DS-2CD2143G0-I20190304AAWR123456789",
     "mac": "44:19:B6:00:01:02"},
    {"brand": "  ", "model": "IPC-HDW2431T", "description": "dome", "device_type": "camera", "firmware": "V2.8"},
    {"brand": "Lorex", "serial": "N/A", "mac": "not a mac", "description": None, "device_type": "NVR"},
    {"model": "x", "serial": "   ", "mac": "02:00:00:00:00:01"},
])
def test_corners_of_the_rule_get_the_template_of_their_evidence(source: str, fields: dict[str, str | None],
                                                                packaged_kb: Knowledge):
    for when in (None, date(2012, 5, 1), AS_OF):
        _CACHES.pop(packaged_kb, None)  # a cold memo: the shortcut's first answer is made from the evidence …
        _same(source, fields, packaged_kb, when)
        _same(source, fields, packaged_kb, when)  # … and its second is the memo's
