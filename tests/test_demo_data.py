"""The demo department and its registers, and the shape of the labelled register."""

from __future__ import annotations

import csv
import ipaddress
import re
from pathlib import Path

import pytest
import yaml

from clearsite.core.models import Site
from clearsite.formats.knowledge import DATA_DIR
from clearsite.services import demo_data

DATA = Path(__file__).parent / "data"
LABELLED = DATA / "labelled_register.csv"
LABELLED_COLUMNS = ["Make", "Model", "Serial", "MAC", "Description", "expected_label_brand", "expected_producer",
                    "expected_nil", "note"]
NON_PRC_IDS = {"axis", "hanwha_vision", "bosch_security", "avigilon", "motorola_solutions", "mobotix", "vivotek",
               "pelco", "sony", "i_pro", "panasonic", "verkada", "ubiquiti", "milestone", "genetec", "idis",
               "march_networks", "honeywell",
               # non-PRC lookalikes added for issue 10
               "geovision", "dynacolor", "two_n", "paxton", "axon", "ring", "grandstream", "edesix", "night_owl"}
COMPANIES = DATA_DIR / "companies.yaml"


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _records(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, list[list[str]]]:
    path = tmp_path_factory.mktemp("demo") / "register.csv"
    count = demo_data.write_demo_register(path)
    return count, _records(path)


def _dicts(records: list[list[str]]) -> list[dict[str, str]]:
    header = records[0]
    return [dict(zip(header, r, strict=True)) for r in records[1:] if len(r) == len(header) and r != header]


# ------------------------------------------------------------------------------------------------
# sites


def test_sites_mix_sensitive_and_ordinary_sites() -> None:
    sites = demo_data.demo_sites()
    assert 6 <= len(sites) <= 8
    assert all(s.department == demo_data.DEMO_DEPARTMENT and s.region for s in sites)
    assert len({s.name for s in sites}) == len(sites)
    assert sum(s.sensitive for s in sites) >= 2
    assert sum(not s.sensitive for s in sites) >= 3
    used = {c for s in sites for c in s.sensitivity_criteria}
    assert len(used) >= 3  # the criteria differ between sensitive sites
    assert sum(s.has_core_network for s in sites) >= 2


def test_every_site_has_a_loopback_network_and_one_owns_the_scanned_range() -> None:
    loopback = ipaddress.ip_network("127.0.0.0/8")
    sites = demo_data.demo_sites()
    for site in sites:
        assert any(not n.core for n in site.networks), site.name
        for net in site.networks:
            assert ipaddress.ip_network(net.cidr).subnet_of(loopback), net.cidr
    owner = [s for s in sites if any(n.cidr == "127.42.0.0/16" for n in s.networks)]
    assert [s.name for s in owner] == [demo_data.SCANNED_SITE]


def test_site_networks_do_not_overlap_between_sites() -> None:
    nets = [(s.name, ipaddress.ip_network(n.cidr)) for s in demo_data.demo_sites() for n in s.networks]
    for i, (name_a, a) in enumerate(nets):
        for name_b, b in nets[i + 1 :]:
            assert name_a == name_b or not a.overlaps(b), (name_a, name_b)


# ------------------------------------------------------------------------------------------------
# the CSV register


def test_csv_register_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    demo_data.write_demo_register(a, seed=7)
    demo_data.write_demo_register(b, seed=7)
    demo_data.write_demo_register(c, seed=8)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_csv_register_row_count_is_what_it_returns(register: tuple[int, list[list[str]]]) -> None:
    count, records = register
    assert 300 <= count <= 400
    assert len(records) - 1 == count
    assert tuple(records[0]) == demo_data.CSV_HEADER


@pytest.mark.parametrize("seed", [1, 2022, 31337])
def test_csv_register_size_stays_in_range_across_seeds(tmp_path: Path, seed: int) -> None:
    assert 300 <= demo_data.write_demo_register(tmp_path / "r.csv", seed=seed) <= 400


def test_csv_register_holds_the_junk_real_registers_hold(register: tuple[int, list[list[str]]]) -> None:
    _, records = register
    body = records[1:]
    assert any(r == [] for r in body), "blank line"
    assert any(r and r[0] == "TOTAL" for r in body)
    assert any(tuple(r) == demo_data.CSV_HEADER for r in body), "repeated header"
    identifying = (3, 4, 5, 6)  # Manufacturer, Part No, S/N, MAC Address
    empty_rows = [r for r in body if len(r) == len(demo_data.CSV_HEADER) and not any(r[i] for i in identifying)]
    assert len(empty_rows) >= 2
    serials = [r[5] for r in body if len(r) > 5 and r[5]]
    assert len(serials) - len(set(serials)) >= 3, "a few duplicated serials"


def test_csv_register_holds_hostile_cells(register: tuple[int, list[list[str]]]) -> None:
    _, records = register
    cells = [c for r in records[1:] for c in r]
    assert "<script>alert(1)</script>" in cells
    for lead in "=+-@":
        assert any(c.startswith(lead) for c in cells), lead


def test_csv_register_holds_relabels_misspellings_and_thin_rows(register: tuple[int, list[list[str]]]) -> None:
    _, records = register
    rows = _dicts(records)
    makes = {r["Manufacturer"] for r in rows}
    for brand in ("LTS", "HiLook by Hikvision", "Amcrest", "Lorex", "Annke", "Uniarch", "Hik-Vision", "Hikvison",
                  "Dahau"):
        assert brand in makes, brand
    assert any(not r["Manufacturer"] and not r["Part No"] and r["MAC Address"] for r in rows), "MAC-only row"
    assert any(not r["Manufacturer"] and not r["MAC Address"] and r["S/N"] for r in rows), "serial-only row"
    assert any(r["Manufacturer"] in ("Axis", "AXIS", "Axis Communications") for r in rows), "non-PRC kit"


def test_csv_register_writes_dates_in_many_formats(register: tuple[int, list[list[str]]]) -> None:
    _, records = register
    dates = [r["Install Date"] for r in _dicts(records)]
    patterns = {
        "iso": r"\d{4}-\d{2}-\d{2}",
        "uk": r"\d{2}/\d{2}/\d{4}",
        "text": r"\d{1,2} [A-Z][a-z]{2} \d{4}",
        "month": r"[A-Z][a-z]+ \d{4}",
        "excel": r"\d{5}",
        "blank": r"",
    }
    for name, pattern in patterns.items():
        assert any(re.fullmatch(pattern, d) for d in dates), name


def test_csv_register_names_sites_inconsistently_but_recognisably(register: tuple[int, list[list[str]]]) -> None:
    _, records = register
    known = {_key(s.name) for s in demo_data.demo_sites()}
    written = {r["Building"] for r in _dicts(records) if r["Building"]}
    assert {_key(w) for w in written} <= known
    assert len(written) > len({_key(w) for w in written}), "some site names typed differently"


def test_every_csv_ip_lies_inside_its_sites_networks(register: tuple[int, list[list[str]]]) -> None:
    _, records = register
    sites: dict[str, Site] = {_key(s.name): s for s in demo_data.demo_sites()}
    seen_core = set()
    with_ip = [r for r in _dicts(records) if r["IP"]]
    assert len(with_ip) > 150
    for row in with_ip:
        site = sites[_key(row["Building"])]
        net = site.network_for(row["IP"])
        assert net is not None, (row["Building"], row["IP"])
        if net.core:
            seen_core.add(site.name)
    assert demo_data.SCANNED_SITE in seen_core
    assert len(seen_core) >= 2


def test_csv_register_ips_are_unique_per_site(register: tuple[int, list[list[str]]]) -> None:
    _, records = register
    devices = {(_key(r["Building"]), r["S/N"], r["MAC Address"], r["IP"]) for r in _dicts(records) if r["IP"]}
    by_ip: dict[str, set[tuple[str, str, str]]] = {}
    for site, serial, mac, ip in devices:
        by_ip.setdefault(ip, set()).add((site, serial, mac.replace("-", ":").upper()))
    shared = {ip: owners for ip, owners in by_ip.items() if len({(o[1]) for o in owners}) > 1}
    assert not shared


# ------------------------------------------------------------------------------------------------
# the XLSX register


def test_xlsx_register_is_small_has_no_site_column_and_its_ips_fit(tmp_path: Path) -> None:
    from python_calamine import CalamineWorkbook

    path = tmp_path / "second.xlsx"
    count = demo_data.write_demo_register_xlsx(path)
    assert 30 <= count <= 60
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    header_at = next(i for i, r in enumerate(rows) if tuple(r[: len(demo_data.XLSX_HEADER)]) == demo_data.XLSX_HEADER)
    header = list(rows[header_at])
    body = [r for r in rows[header_at + 1 :] if any(str(c) for c in r)]
    assert len(body) == count
    assert not {"Building", "Site"} & set(header)
    assert not set(header) & set(demo_data.CSV_HEADER), "header wording differs from the CSV's"
    site = next(s for s in demo_data.demo_sites() if s.name == demo_data.XLSX_SITE)
    ip_col = header.index("IP Address")
    ips = [str(r[ip_col]) for r in body if r[ip_col]]
    assert ips and all(site.network_for(ip) for ip in ips)
    assert any(str(c).startswith("=") for r in body for c in r), "a formula-looking cell kept as text"


def test_xlsx_register_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    from python_calamine import CalamineWorkbook

    def content(path: Path) -> list[list[object]]:
        return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()

    demo_data.write_demo_register_xlsx(tmp_path / "a.xlsx", seed=5)
    demo_data.write_demo_register_xlsx(tmp_path / "b.xlsx", seed=5)
    assert content(tmp_path / "a.xlsx") == content(tmp_path / "b.xlsx")


# ------------------------------------------------------------------------------------------------
# the large register


def test_large_register_writes_the_requested_rows(tmp_path: Path) -> None:
    path = tmp_path / "large.csv"
    demo_data.write_large_register(path, 5000, sites=40)
    records = _records(path)
    assert tuple(records[0]) == demo_data.CSV_HEADER
    body = records[1:]
    assert len(body) == 5000
    assert {r[1] for r in body} == {demo_data.large_site_name(i) for i in range(40)}
    junk = [r for r in body if not any(r[i] for i in (3, 4, 5, 6))]
    assert 0.002 <= len(junk) / len(body) <= 0.01
    serials = [r[5] for r in body if r[5]]
    assert len(serials) == len(set(serials))
    macs = [r[6] for r in body if r[6]]
    assert len(macs) == len(set(macs))


def test_large_register_is_deterministic_and_its_ips_fit_its_sites(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    demo_data.write_large_register(a, 3000, seed=3, sites=25)
    demo_data.write_large_register(b, 3000, seed=3, sites=25)
    assert a.read_bytes() == b.read_bytes()
    sites = {s.name: s for s in demo_data.large_sites(25)}
    for row in _records(a)[1:]:
        if row[7]:
            assert sites[row[1]].network_for(row[7]) is not None


def test_large_register_is_about_thirty_percent_prc_made(tmp_path: Path) -> None:
    path = tmp_path / "large.csv"
    demo_data.write_large_register(path, 20000)
    prc_models = {k.model for k in demo_data._CATALOGUE if k.group == "prc" and k.model}
    prc_makes = {m for k in demo_data._CATALOGUE if k.group == "prc" and not k.model for m in k.makes}
    body = _records(path)[1:]
    share = sum(r[4] in prc_models or r[3] in prc_makes for r in body) / len(body)
    assert 0.25 <= share <= 0.35


def test_large_register_can_be_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    demo_data.write_large_register(path, 0)
    assert _records(path) == [list(demo_data.CSV_HEADER)]


# ------------------------------------------------------------------------------------------------
# the labelled register


@pytest.fixture(scope="module")
def labelled() -> list[dict[str, str]]:
    with LABELLED.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == LABELLED_COLUMNS
        return list(reader)


def test_labelled_register_is_big_enough(labelled: list[dict[str, str]]) -> None:
    assert len(labelled) >= 220


def test_labelled_register_values_are_valid(labelled: list[dict[str, str]]) -> None:
    # Producer ids must be the knowledge base's, or the measurement compares different spellings.
    company_ids = {c["id"] for c in yaml.safe_load(COMPANIES.read_text(encoding="utf-8"))}
    assert company_ids >= NON_PRC_IDS
    for number, row in enumerate(labelled, start=2):
        assert row["expected_nil"] in {"yes", "no", "review", "unknown"}, number
        assert row["note"].strip(), number
        assert any(row[c].strip() for c in ("Make", "Model", "Serial", "MAC", "Description")), number
        producer = row["expected_producer"]
        if producer:
            assert producer in company_ids, (number, producer)
        else:
            assert row["expected_nil"] in {"review", "unknown", "yes"}, number
        if row["expected_nil"] == "no":
            assert producer in NON_PRC_IDS, number
        if row["MAC"]:
            assert re.fullmatch(r"([0-9A-F]{2}:){5}[0-9A-F]{2}", row["MAC"]), number


def test_labelled_register_covers_every_verdict_and_the_main_families(labelled: list[dict[str, str]]) -> None:
    verdicts = {r["expected_nil"] for r in labelled}
    assert verdicts == {"yes", "no", "review", "unknown"}
    models = " ".join(r["Model"] for r in labelled)
    for family in ("DS-2CD", "DS-2DE", "DS-2CE", "DS-7608NI", "DS-7216HQHI", "DS-K1T", "DS-KV6113", "DS-2TD",
                   "IPC-HFW", "IPC-HDW", "IPC-HDBW", "NVR4", "NVR5", "XVR", "VTO", "IP4M", "LNB", "IPC2", "IPC3",
                   "TC-", "TD-", "MS-C", "RLC-", "UVC-G4", "XNO-", "WV-", "SNC-", "H5A"):
        assert family in models, family
    mac_only = [r for r in labelled if r["MAC"] and not (r["Make"] or r["Model"] or r["Serial"])]
    assert len(mac_only) >= 20
    assert all(r["expected_nil"] in {"review", "unknown"} for r in mac_only)
    serial_only = [r for r in labelled if r["Serial"] and not (r["Make"] or r["Model"] or r["MAC"])]
    assert len(serial_only) >= 5
