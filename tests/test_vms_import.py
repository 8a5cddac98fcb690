"""VMS and NVR device-list imports: formats, sniffing, refusal, idempotence, identification, hostile cells."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clearsite.cli import app as cli_app
from clearsite.core.knowledge import Knowledge
from clearsite.formats.vms import FORMATS, VmsFormatError, read_vms_export
from clearsite.services.database import open_database
from clearsite.services.sites import add_site
from clearsite.services.vms_imports import VmsImportRefused, import_vms

DATA = Path(__file__).parent / "data" / "vms"
SAMPLES = {
    "milestone_hardware.csv": "milestone",
    "milestone_camera_report.csv": "milestone",
    "genetec_hardware_inventory.csv": "genetec",
    "nx_devices.json": "nx",
    "hikcentral_devices.csv": "hikcentral",
    "ivms_device_list.csv": "ivms",
    "dss_devices.csv": "dss",
    "onvif_device_information.csv": "onvif",
    "onvif_device_information.xml": "onvif",
}
SITE = "Depot"


@pytest.fixture
def engine(store_url: str) -> Any:
    engine = open_database(store_url)  # on SQLite and on PostgreSQL
    add_site(engine, "test", name=SITE, department="Dept A")
    yield engine
    engine.dispose()


def run_cli(db: str, *args: str) -> Any:
    return CliRunner().invoke(cli_app, list(args), env={"CLEARSITE_DATABASE_URL": db})


def devices_by_ip(db: str) -> dict[str, dict[str, Any]]:
    result = run_cli(db, "devices", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return {d["ip"]: d for d in json.loads(result.stdout)}


# --------------------------------------------------------------------------- formats and sniffing


def test_every_format_has_a_sample() -> None:
    assert set(SAMPLES.values()) == set(FORMATS)


@pytest.mark.parametrize(("name", "expected"), sorted(SAMPLES.items()))
def test_each_sample_is_sniffed_as_its_format_and_read_whole(name: str, expected: str) -> None:
    export = read_vms_export((DATA / name).read_bytes(), name)
    assert export.format == expected
    assert export.devices and not export.skipped
    assert export.rows_read == len(export.devices)
    for device in export.devices:
        assert "ip" in device.values  # every sample gives an address, in its own spelling (URL, ip:port, bare)
        assert "password" not in json.dumps(device.values).casefold()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_named_format_reads_the_same_as_the_sniffed_one(name: str) -> None:
    data = (DATA / name).read_bytes()
    assert read_vms_export(data, name, SAMPLES[name]).devices == read_vms_export(data, name).devices


def test_addresses_macs_and_recording_servers_are_read_as_written_in_each_format() -> None:
    milestone = read_vms_export((DATA / "milestone_hardware.csv").read_bytes(), "m.csv").devices[1].values
    assert milestone["ip"] == "10.20.1.12"  # from http://10.20.1.12:80/
    assert milestone["mac"] == "44:19:B6:12:34:56"
    assert milestone["recording_server"] == "RS-NORTH-01"
    nx = read_vms_export((DATA / "nx_devices.json").read_bytes(), "nx.json").devices[0].values
    assert nx["ip"] == "10.50.0.41" and nx["firmware"] == "V2.622.0000000.9.R"
    ivms = read_vms_export((DATA / "ivms_device_list.csv").read_bytes(), "i.csv").devices[0].values
    assert ivms["ip"] == "10.70.0.21"  # from 10.70.0.21:8000
    assert ivms["serial"].startswith("DS-2CD1043G0-I2020")


def test_a_file_in_no_known_format_is_refused_in_one_line() -> None:
    data = b"Asset,Colour,Weight\nchair,red,4\n"
    with pytest.raises(VmsFormatError) as refused:
        read_vms_export(data, "furniture.csv")
    message = str(refused.value)
    assert "furniture.csv" in message and "--from" in message and "\n" not in message


def test_json_that_is_not_a_device_list_is_refused() -> None:
    with pytest.raises(VmsFormatError, match="not a VMS device export"):
        read_vms_export(b'[{"colour": "red"}]', "x.json")
    with pytest.raises(VmsFormatError, match="not a list of devices"):
        read_vms_export(b'{"reply": [1, 2]}', "x.json")
    with pytest.raises(VmsFormatError, match="not readable JSON"):
        read_vms_export(b"[{", "x.json")


def test_a_header_two_formats_could_own_is_refused_until_named() -> None:
    data = b"Device Name,Device Serial No.,SN,Model\ncam,DS-2CD1043G0-I20200401AAWRE11223344,X1,DS-2CD1043G0-I\n"
    with pytest.raises(VmsFormatError, match="could be dss or ivms"):
        read_vms_export(data, "both.csv")
    assert read_vms_export(data, "both.csv", "ivms").format == "ivms"


def test_a_named_format_with_none_of_its_columns_is_refused() -> None:
    with pytest.raises(VmsFormatError, match="no column a nx export has"):
        read_vms_export(b"Colour,Weight\nred,4\n", "x.csv", "nx")


def test_an_unknown_format_name_is_refused() -> None:
    with pytest.raises(VmsFormatError, match="unknown VMS format"):
        read_vms_export(b"", "x.csv", "avigilon")


def test_rows_without_anything_identifying_are_skipped_with_their_row_number() -> None:
    data = (b"HardwareName,HardwareAddress,MacAddress,DriverDisplayName,RecordingServerName\n"
            b"Spare port,,,,RS-1\n"
            b"Cam,http://10.0.0.9/,ACCC8E000001,AXIS M3085-V,RS-1\n")
    export = read_vms_export(data, "m.csv")
    assert len(export.devices) == 1 and export.rows_read == 2
    assert export.skipped[0].startswith("row 2: no make, driver, model, serial or MAC")


def test_an_xlsx_export_is_read_like_its_csv(tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "dss.xlsx"
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["Device list export"])  # a title line before the header, as DSS writes
    for number, line in enumerate((DATA / "dss_devices.csv").read_text().splitlines(), start=1):
        sheet.write_row(number, 0, line.split(","))
    book.close()
    from_xlsx = read_vms_export(path.read_bytes(), path.name)
    from_csv = read_vms_export((DATA / "dss_devices.csv").read_bytes(), "dss_devices.csv")
    assert from_xlsx.format == "dss"
    assert [d.values for d in from_xlsx.devices] == [d.values for d in from_csv.devices]


# --------------------------------------------------------------------------- hostile cells


def test_hostile_cells_are_inert_text_and_control_characters_are_removed_with_a_warning() -> None:
    data = ('Address,Manufacturer,Model,FirmwareVersion,SerialNumber,HardwareId\n'
            '10.9.0.1,"=HYPERLINK(""http://evil.example/"",""Axis"")",P1448-LE,10.12.153,ACCC8E0F1E2D,1\n'
            '10.9.0.2,Hik\x1bvision\u202e,DS-2CD2043G2-I,V5.7.3,S1,88\n').encode()
    export = read_vms_export(data, "hostile.csv")
    formula, control = export.devices
    assert formula.values["vendor"].startswith("=HYPERLINK(")  # kept as written, never evaluated
    assert control.values["vendor"] == "Hikvision"
    assert control.warnings == ("Manufacturer: control or bidi characters removed",)


def test_a_formula_in_the_manufacturer_column_names_no_maker(engine: Any, packaged_kb: Knowledge,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "hostile.csv"
    path.write_text('Address,Manufacturer,Model,HardwareId\n10.9.0.1,"=cmd|\' /C calc\'!A0",,1\n')
    assert import_vms(engine, packaged_kb, path, SITE).stored == 1
    device = devices_by_ip(str(engine.url))["10.9.0.1"]
    assert device["producer"] is None
    assert any(e["value"].startswith("=cmd|") and e["supports"] is None for e in device["evidence"])


# --------------------------------------------------------------------------- import: store, dedupe, identify


def test_importing_the_same_export_twice_adds_nothing(engine: Any, packaged_kb: Knowledge) -> None:
    first = import_vms(engine, packaged_kb, DATA / "milestone_camera_report.csv", SITE)
    assert (first.stored, first.duplicates, first.new_devices) == (3, 0, 3)
    again = import_vms(engine, packaged_kb, DATA / "milestone_camera_report.csv", SITE)
    assert (again.stored, again.duplicates, again.new_devices) == (0, 3, 0)


def test_two_identical_listed_devices_are_two_devices(engine: Any, packaged_kb: Knowledge, tmp_path: Path) -> None:
    path = tmp_path / "twins.csv"
    path.write_text("Address,Manufacturer,Model,HardwareId\n,Axis,M3085-V,1\n,Axis,M3085-V,1\n")
    assert import_vms(engine, packaged_kb, path, SITE).new_devices == 2
    assert import_vms(engine, packaged_kb, path, SITE).stored == 0


def test_an_export_with_no_devices_is_refused_and_stores_nothing(engine: Any, packaged_kb: Knowledge,
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("Address,Manufacturer,Model,HardwareId\n10.0.0.1,,,\n")
    with pytest.raises(VmsImportRefused, match="no devices"):
        import_vms(engine, packaged_kb, path, SITE)


def test_devices_are_identified_by_the_maker_the_vms_reports(tmp_path: Path, engine: Any, db_url: str) -> None:
    db = str(engine.url)
    for name in SAMPLES:
        shutil.copy(DATA / name, tmp_path / name)
        result = run_cli(db, "import", "vms", str(tmp_path / name), "--site", SITE, "--format", "json")
        assert result.exit_code == 0, result.stderr
    devices = devices_by_ip(db)
    expected = {
        "10.30.0.21": "hikvision",  # a Hikvision camera on a Milestone recording server
        "10.30.0.22": "axis",  # an Axis one
        "10.30.0.23": "hanwha_vision",
        "10.20.1.12": "hikvision",  # Milestone driver name only: "Hikvision DS-2CD2xx"
        "10.20.1.11": "axis",
        "10.40.2.31": "bosch_security",  # Genetec
        "10.40.2.32": "hikvision",
        "10.50.0.41": "dahua",  # Nx Witness
        "10.50.0.42": "axis",
        "10.60.0.13": "hikvision",  # HikCentral
        "10.70.0.21": "hikvision",  # iVMS-4200
        "10.80.0.11": "dahua",  # DSS
        "10.90.0.31": "hikvision",  # ONVIF
        "10.90.0.32": "axis",
        "10.90.0.33": "dahua",
        "10.91.0.41": "dahua",  # ONVIF SOAP answers
        "10.91.0.42": "bosch_security",
    }
    assert {ip: (devices[ip]["producer"] or {}).get("id") for ip in expected} == expected
    assert devices["10.20.1.14"]["producer"] is None  # "ONVIF Conformant Device" says how, not who
    assert devices["10.30.0.21"]["nil_subject"] == "yes" and devices["10.30.0.22"]["nil_subject"] == "no"


def test_evidence_names_the_file_format_row_and_recording_server(engine: Any, packaged_kb: Knowledge) -> None:
    import_vms(engine, packaged_kb, DATA / "milestone_camera_report.csv", SITE)
    device = devices_by_ip(str(engine.url))["10.30.0.21"]
    vendor = next(e for e in device["evidence"] if e["signal"] == "vendor")
    assert vendor["value"] == "Hikvision"
    assert vendor["source"] == "milestone_camera_report.csv (milestone) row 2, recording server RS-SOUTH-01"
    assert vendor["supports"] == "hikvision"


def test_the_cli_summary_mirrors_the_register_import(tmp_path: Path, engine: Any) -> None:
    db = str(engine.url)
    result = run_cli(db, "import", "vms", str(DATA / "onvif_device_information.csv"), "--site", SITE,
                     "--format", "json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) == {"file", "format", "rows_read", "stored", "already_imported", "new_devices",
                            "identified", "skipped", "warnings"}
    assert (summary["format"], summary["rows_read"], summary["stored"]) == ("onvif", 3, 3)


def test_the_cli_refuses_an_unknown_file_with_exit_2_and_one_line(tmp_path: Path, engine: Any) -> None:
    path = tmp_path / "furniture.csv"
    path.write_text("Asset,Colour\nchair,red\n")
    result = run_cli(str(engine.url), "import", "vms", str(path), "--site", SITE)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "furniture.csv" in result.stderr


def test_the_cli_reads_a_named_format(engine: Any) -> None:
    result = run_cli(str(engine.url), "import", "vms", str(DATA / "dss_devices.csv"), "--site", SITE,
                     "--from", "dss", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["format"] == "dss"


def test_onvif_soap_answers_are_read_with_the_address_around_them() -> None:
    export = read_vms_export((DATA / "onvif_device_information.xml").read_bytes(), "onvif.xml")
    assert [(d.values["ip"], d.values["vendor"], d.values["model"]) for d in export.devices] == [
        ("10.91.0.41", "Dahua", "IPC-HFW5442E-ZE"), ("10.91.0.42", "Bosch", "DINION IP 5000 HD")]


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx"><!ENTITY y "&x;&x;&x;&x;">]><a>&y;</a>',
    b'<a><b>no device here</b></a>',
    b'<a><b>',
])
def test_xml_that_is_hostile_or_not_onvif_is_refused_in_one_line(data: bytes) -> None:
    with pytest.raises(VmsFormatError) as refused:
        read_vms_export(data, "odd.xml")
    assert "odd.xml" in str(refused.value) and "\n" not in str(refused.value)


def test_xml_named_as_another_format_is_refused() -> None:
    with pytest.raises(VmsFormatError, match="XML, but a milestone export"):
        read_vms_export((DATA / "onvif_device_information.xml").read_bytes(), "onvif.xml", "milestone")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    import os

    from clearsite.formats.vms import read_vms_file

    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    with pytest.raises(VmsFormatError, match="not a regular file"):
        read_vms_file(fifo)


def test_devices_outside_the_sites_networks_are_stored_with_a_warning(tmp_path: Path, packaged_kb: Knowledge) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'nets.db'}")
    add_site(engine, "test", name="Walled", department="Dept A", networks=["10.90.0.0/24"])
    path = tmp_path / "onvif.csv"
    path.write_text("Address,Manufacturer,Model,HardwareId\n10.90.0.5,Axis,M3085-V,1\n10.99.0.5,Axis,M3085-V,2\n")
    report = import_vms(engine, packaged_kb, path, "Walled")
    engine.dispose()
    assert report.stored == 2
    assert report.warnings == ["onvif.csv: row 3: 10.99.0.5 is not in the networks of Walled; stored at it anyway"]


def test_an_unknown_site_is_refused_with_exit_2(engine: Any) -> None:
    result = run_cli(str(engine.url), "import", "vms", str(DATA / "dss_devices.csv"), "--site", "Nowhere")
    assert result.exit_code == 2 and "unknown site 'Nowhere'" in result.stderr


def test_a_firmware_oem_code_names_the_maker_behind_a_generic_onvif_driver(engine: Any, packaged_kb: Knowledge,
                                                                          tmp_path: Path) -> None:
    path = tmp_path / "oem.csv"
    path.write_text("HardwareName,HardwareAddress,DriverDisplayName,Model,Firmware,RecordingServerName\n"
                    "Back gate,http://10.20.9.1/,ONVIF Conformant Device,LNB8005,2.622.00LR000.0.R,RS-1\n")
    import_vms(engine, packaged_kb, path, SITE)
    device = devices_by_ip(str(engine.url))["10.20.9.1"]
    assert (device["producer"]["id"], device["label_brand"]) == ("dahua", "Lorex")  # LR: Lorex build of Dahua's
    assert not any(e["signal"] == "vendor" for e in device["evidence"])  # "ONVIF Conformant Device" is not a maker


def test_a_workbook_spanning_the_whole_sheet_is_refused_before_it_is_read(tmp_path: Path) -> None:
    from tests.security.workbooks import SHEET_END, SHEET_START, cell, row, write_workbook

    far = f'<row r="1048576">{cell("XFD1048576", "x")}</row>'
    sheet = [SHEET_START, row(1, "HardwareName", "HardwareAddress").encode(), far.encode(), SHEET_END]
    path = write_workbook(tmp_path / "wide.xlsx", sheet)
    with pytest.raises(VmsFormatError) as refused:
        read_vms_export(path.read_bytes(), path.name)
    assert "wide.xlsx" in str(refused.value)
