"""Importing official list exports: entries that name known companies become dated designations."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from clearsite.formats.designation_lists import DesignationListError, read_designation_list
from clearsite.formats.knowledge import DATA_DIR, load_knowledge
from clearsite.services.designation_import import entity_key, import_designations, program_of

LISTS = Path(__file__).parent / "data" / "designation_lists"
AS_OF = date(2026, 12, 1)


def _by_entity(result) -> dict[str, dict]:
    return {d["entity"]: d for d in result.designations}


def test_csl_csv_entries_naming_known_companies_become_designations() -> None:
    result = import_designations(LISTS / "csl_sample.csv", as_of=AS_OF)
    assert result.format == "csl-csv" and result.entries == 5
    made = _by_entity(result)
    assert set(made) == {"kedacom", "sunell"}
    assert made["kedacom"]["program"] == "US-BIS-EL" and made["kedacom"]["valid_from"] == date(2026, 3, 2)
    assert made["kedacom"]["source"][0] == "99 FR 10001"
    assert made["sunell"]["program"] == "US-NS-CMIC"
    assert result.already_known == [{"row": 1, "entity": "hikvision", "program": "US-BIS-EL"}]
    unmatched = {u["row"]: u["reason"] for u in result.unmatched}
    assert set(unmatched) == {3, 4}
    assert "no known company" in unmatched[3]  # "Hikvision Digital Europe Holdings" is not Hikvision
    assert "programmes" in unmatched[4]  # a Denied Persons entry maps to no programme we keep


def test_csl_json_reads_inline_aka_and_holds_to_countries_and_whole_words() -> None:
    result = import_designations(LISTS / "csl_sample.json", as_of=AS_OF)
    assert result.format == "csl-json"
    assert set(_by_entity(result)) == {"tvt"}
    reasons = {u["name"]: u["reason"] for u in result.unmatched}
    assert "the list gives GB" in reasons["Milesight"]
    assert "no known company" in reasons["Axis Tech Trading Ltd."]  # "Axis Tech" is not "Axis"
    assert result.already_known == [{"row": 4, "entity": "dahua", "program": "US-BIS-EL"}]


def test_opensanctions_targets_csv_is_read_with_first_seen_dates_marked_for_checking() -> None:
    result = import_designations(LISTS / "opensanctions_targets.csv", as_of=AS_OF)
    assert result.format == "opensanctions-csv"
    [made] = result.designations
    assert made["entity"] == "xiongmai" and made["valid_from"] == date(2026, 6, 10)
    assert made["confidence"] < 0.9 and "first saw" in made["note"]
    assert {u["name"] for u in result.unmatched} == {"Jane Example", "Jovision Europe GmbH"}


def test_program_option_overrides_the_list_name() -> None:
    result = import_designations(LISTS / "csl_sample.csv", as_of=AS_OF, program="US-DOD-1260H")
    assert {d["program"] for d in result.designations} == {"US-DOD-1260H"}
    assert {"kedacom", "sunell"} <= set(_by_entity(result))
    assert {"entity": "hikvision", "program": "US-DOD-1260H", "row": 1} in result.already_known


def test_program_rules_name_our_programmes() -> None:
    assert program_of("Entity List (EL) - Bureau of Industry and Security") == ["US-BIS-EL"]
    assert program_of("Non-SDN Chinese Military-Industrial Complex Companies List (CMIC) - Treasury Department") == ["US-NS-CMIC"]
    assert program_of("Denied Persons List (DPL) - Bureau of Industry and Security") == []


def test_entity_keys_drop_only_legal_forms() -> None:
    assert entity_key("Suzhou Keda Technology Co., Ltd.") == entity_key("SUZHOU KEDA TECHNOLOGY CO LTD")
    assert entity_key("Axis Tech") != entity_key("Axis")
    assert entity_key("Hikvision Europe B.V.") != entity_key("Hikvision")


def test_import_into_a_knowledge_directory_appends_valid_designations(tmp_path: Path) -> None:
    knowledge_dir = tmp_path / "knowledge"
    shutil.copytree(DATA_DIR, knowledge_dir)
    before = load_knowledge(knowledge_dir)
    result = import_designations(LISTS / "csl_sample.csv", as_of=AS_OF, out=knowledge_dir)
    assert result.written_to == str(knowledge_dir / "designations.yaml")
    after = load_knowledge(knowledge_dir)
    assert len(after.designations) == len(before.designations) + 2
    assert any(d.entity == "kedacom" and d.program == "US-BIS-EL" for d in after.designations)
    assert "# Designation programmes" in (knowledge_dir / "designations.yaml").read_text()  # comments kept


def test_import_to_a_file_writes_reviewable_yaml(tmp_path: Path) -> None:
    out = tmp_path / "imported.yaml"
    import_designations(LISTS / "csl_sample.json", as_of=AS_OF, out=out)
    written = yaml.safe_load(out.read_text())
    assert [d["entity"] for d in written["designations"]] == ["tvt"]
    assert "&id" not in out.read_text()


@pytest.mark.parametrize(("content", "message"), [
    ("name,address\nx,y\n", "not a Consolidated Screening List CSV"),
    ('{"results": [{"name": ""}]}', "record 1: the name field is missing or empty"),
    ("_id,source,name,alt_names,start_date\n1,Entity List (EL),Acme,,2026-13-45\n", "row 1: start_date '2026-13-45' is not a date"),
])
def test_bad_files_are_refused_naming_file_and_row(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DesignationListError, match=message) as caught:
        read_designation_list(path)
    assert str(caught.value).startswith("bad.csv: ") and "\n" not in str(caught.value)


def test_command_line_reports_unmatched_entries_and_exits_2_on_a_bad_file(cli, tmp_path: Path) -> None:
    shutil.copy(LISTS / "csl_sample.csv", tmp_path / "csl.csv")
    result = cli("knowledge", "import-designations", "csl.csv", "--as-of", "2026-12-01", "--format", "json")
    report = json.loads(result.stdout)
    assert {d["entity"] for d in report["designations"]} == {"kedacom", "sunell"}
    assert len(report["unmatched"]) == 2
    table = cli("knowledge", "import-designations", "csl.csv", "--as-of", "2026-12-01")
    assert yaml.safe_load(table.stdout)["designations"][0]["entity"] == "kedacom"
    assert "2 unmatched" in table.stderr and "unmatched row 3" in table.stderr
    (tmp_path / "bad.csv").write_text("name,address\nx,y\n")
    bad = cli("knowledge", "import-designations", "bad.csv", check=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "bad.csv" in bad.stderr
