"""Procurement screening: the rules a quote line is judged by, the quote reader and attestations."""

from __future__ import annotations

import dataclasses
import io
import json
from datetime import date
from pathlib import Path

import pytest
import xlsxwriter

from clearsite.core.knowledge.schema import Designation
from clearsite.core.models import NilSubject, Site
from clearsite.core.screen import (
    Attestation,
    Decision,
    QuoteLine,
    ScreenError,
    Statement,
    screen,
)
from clearsite.formats.attestations import AttestationError, parse_attestations
from clearsite.formats.quotes import QuoteError, read_quote

ON = date(2026, 11, 29)
SENSITIVE = Site("Whitehall Annex", "Dept A", holds_secret=True)
ORDINARY = Site("Regional Depot", "Dept A")
US_SITE = Site("Federal Building", "Agency", jurisdiction="US")
AU_SITE = Site("Canberra Office", "Defence", jurisdiction="AU")
QUOTES = Path(__file__).parent / "data" / "quotes"


def one(line: QuoteLine, site: Site, kb, **kwargs):  # type: ignore[no-untyped-def]
    [decision] = screen([line], site, kb, ON, **kwargs)
    return decision


def has(decision, *words: str) -> bool:  # type: ignore[no-untyped-def]
    return any(all(w in reason for w in words) for reason in decision.reasons)


# --------------------------------------------------------------------------- the producer


def test_a_relabel_is_caught_and_denied_for_a_sensitive_site(packaged_kb):
    decision = one(QuoteLine("Anixter", "LTS", "CMIP7382W-28M", description="8MP bullet", quantity=4), SENSITIVE,
                   packaged_kb)
    assert decision.decision == Decision.DENY
    assert decision.producer is not None and decision.producer.id == "hikvision"
    assert decision.nil_subject == NilSubject.YES
    assert has(decision, "relabel: LTS products are made by", "Hikvision")
    assert has(decision, "uk-hcws386 O1")


def test_a_sub_brand_of_the_maker_is_denied_without_a_relabel_note(packaged_kb):
    decision = one(QuoteLine(brand="HiLook", model="IPC-B140H"), SENSITIVE, packaged_kb)
    assert decision.decision == Decision.DENY and decision.producer.id == "hikvision"  # type: ignore[union-attr]
    assert decision.producer.as_dict() == {  # type: ignore[union-attr]
        "id": "hikvision", "name": "Hangzhou Hikvision Digital Technology Co., Ltd.", "country": "CN"}


def test_a_sku_that_looks_like_a_model_is_model_evidence(packaged_kb):
    decision = one(QuoteLine(sku="HIK-DS-2CD2143G2-I", description="4MP dome"), SENSITIVE, packaged_kb)
    assert decision.decision == Decision.DENY and decision.producer.id == "hikvision"  # type: ignore[union-attr]


def test_a_model_named_only_in_the_description_is_found(packaged_kb):
    decision = one(QuoteLine(description="Dahua IPC-HFW2431S-S-S2 4MP bullet"), SENSITIVE, packaged_kb)
    assert decision.decision == Decision.DENY and decision.producer.id == "dahua"  # type: ignore[union-attr]


def test_lorex_is_judged_by_model_and_date(packaged_kb):
    dahua_era = one(QuoteLine(brand="Lorex", model="E891AB"), SENSITIVE, packaged_kb)
    assert dahua_era.decision == Decision.DENY and dahua_era.producer.id == "dahua"  # type: ignore[union-attr]
    skywatch_era = one(QuoteLine(brand="Lorex", description="2K Wi-Fi camera"), SENSITIVE, packaged_kb)
    assert skywatch_era.decision == Decision.REVIEW and skywatch_era.nil_subject == NilSubject.REVIEW


def test_a_non_prc_producer_is_allowed(packaged_kb):
    for site in (SENSITIVE, ORDINARY):
        decision = one(QuoteLine("ADI", "Axis", "P3245-LVE", quantity=2), site, packaged_kb)
        assert decision.decision == Decision.ALLOW, decision.reasons
        assert decision.nil_subject == NilSubject.NO
        assert "not subject" in decision.summary


# --------------------------------------------------------------------------- unknown, passive, service


@pytest.mark.parametrize("site", [SENSITIVE, ORDINARY], ids=["sensitive", "ordinary"])
@pytest.mark.parametrize("line", [
    QuoteLine(brand="Acme Vision", model="XJ-200", description="IP camera"),
    QuoteLine(description="4MP IP camera 2.8mm"),
    QuoteLine(brand="Netgear", model="GS308P", description="8 port PoE switch"),
    QuoteLine(model="IPC-A22EP"),  # shared by Dahua, Imou, HiLook and Uniview
], ids=["unknown brand", "no brand", "not in the knowledge base", "shared model prefix"])
def test_a_line_it_cannot_identify_is_review_never_allow(packaged_kb, line, site):
    decision = one(line, site, packaged_kb)
    assert decision.decision == Decision.REVIEW
    assert decision.producer is None


def test_passive_accessories_and_services_are_allowed_unless_a_nil_maker_made_them(packaged_kb):
    cable = one(QuoteLine(brand="Excel", description="Cat6 U/UTP cable 305m box"), SENSITIVE, packaged_kb)
    assert cable.decision == Decision.ALLOW and has(cable, "passive")
    labour = one(QuoteLine(description="Installation labour (2 engineers x 3 days)"), SENSITIVE, packaged_kb)
    assert labour.decision == Decision.ALLOW and has(labour, "service")
    bracket = one(QuoteLine(brand="Hikvision", model="DS-1273ZJ-135", description="wall mount bracket"), SENSITIVE,
                  packaged_kb)
    assert bracket.decision == Decision.REVIEW and bracket.nil_subject == NilSubject.YES
    camera_with_bracket = one(QuoteLine(brand="Acme", description="4MP dome camera with bracket"), SENSITIVE,
                              packaged_kb)
    assert camera_with_bracket.decision == Decision.REVIEW


# --------------------------------------------------------------------------- the site and its network


def test_a_site_that_is_not_sensitive_gets_advice_for_a_nil_producer(packaged_kb):
    decision = one(QuoteLine(brand="Uniview", model="IPC2122LB-SF28K-A"), ORDINARY, packaged_kb)
    assert decision.decision == Decision.REVIEW
    assert has(decision, "O4") and has(decision, "O2", "does not say")
    assert not has(decision, "O1")


def test_a_line_that_joins_a_core_network_is_denied_at_any_site(packaged_kb):
    line = QuoteLine(brand="Dahua", model="NVR4216-16P-4KS2", connects_to_core=True)
    decision = one(line, ORDINARY, packaged_kb)
    assert decision.decision == Decision.DENY
    assert "O2" in decision.summary
    said_not = one(dataclasses.replace(line, connects_to_core=False), ORDINARY, packaged_kb)
    assert said_not.decision == Decision.REVIEW and has(said_not, "O2", "will not join")
    non_prc = one(QuoteLine(brand="Axis", model="P1455-LE", connects_to_core=True), ORDINARY, packaged_kb)
    assert non_prc.decision == Decision.ALLOW


def test_the_description_can_say_the_line_joins_the_core_network(packaged_kb):
    joins = one(QuoteLine(brand="HiLook", model="IPC-B140H", description="bullet, connects to core network"),
                ORDINARY, packaged_kb)
    assert joins.decision == Decision.DENY
    isolated = one(QuoteLine(brand="HiLook", model="IPC-B140H", description="bullet, isolated from the core network"),
                   ORDINARY, packaged_kb)
    assert isolated.decision == Decision.REVIEW


def test_the_departments_jurisdiction_decides_the_policies(packaged_kb):
    hikvision = QuoteLine("Acme", "Hikvision", "DS-2CD2143G2-I")
    us = one(hikvision, US_SITE, packaged_kb)
    assert us.decision == Decision.DENY and has(us, "us-ndaa-889 a1A", "limited to public safety")
    assert not has(us, "uk-hcws386")
    au = one(hikvision, AU_SITE, packaged_kb)
    assert au.decision == Decision.DENY and has(au, "au-defence-2023")
    uniview = QuoteLine("Acme", "Uniview", "IPC2122LB-SF28K-A")
    assert one(uniview, AU_SITE, packaged_kb).decision == Decision.ALLOW  # not one of the named entities
    # ...but clearsite never clears NIL-subject kit for a sensitive site, whatever the jurisdiction.
    sensitive_au = dataclasses.replace(AU_SITE, ministerial=True)
    assert one(uniview, sensitive_au, packaged_kb).decision == Decision.REVIEW


def test_policy_ids_override_the_jurisdiction_and_unknown_ones_are_refused(packaged_kb):
    decision = one(QuoteLine(brand="Dahua", model="IPC-HFW2431S-S-S2"), ORDINARY, packaged_kb,
                   policy_ids=["au-defence-2023"])
    assert decision.decision == Decision.DENY and has(decision, "au-defence-2023")
    with pytest.raises(ScreenError, match="unknown policy 'uk-nope'"):
        screen([QuoteLine(brand="Axis")], ORDINARY, packaged_kb, ON, policy_ids=["uk-nope"])


# --------------------------------------------------------------------------- designations, debarment, supplier


def test_designations_of_the_producer_are_named_with_their_purpose_limit(packaged_kb):
    decision = one(QuoteLine(brand="Amcrest", model="IP8M-2496EB"), SENSITIVE, packaged_kb)
    assert has(decision, "designation: (US) NDAA FY2019 section 889", "Dahua",
               "limited to public safety, government facility security")
    assert has(decision, "designation: (US) FCC Covered List")


def test_a_supplier_on_the_debarment_list_is_denied(packaged_kb):
    listed = Designation(entity="tvt", program="UK-DEBARMENT-LIST", valid_from=date(2026, 1, 1),
                         source=["https://example.org/debarment"], as_of=date(2026, 8, 22))
    kb = dataclasses.replace(packaged_kb, designations=(*packaged_kb.designations, listed))
    decision = one(QuoteLine("Shenzhen TVT Digital Technology Co., Ltd.", "Axis", "P3245-LVE"), ORDINARY, kb)
    assert decision.decision == Decision.DENY
    assert "debarment list" in decision.summary and "mandatory exclusion" in decision.summary
    clean = one(QuoteLine("ADI Global", "Axis", "P3245-LVE"), ORDINARY, kb)
    assert clean.decision == Decision.ALLOW and has(clean, "debarment list (GB): no entry")


def test_a_nil_subject_supplier_sends_the_line_to_review(packaged_kb):
    decision = one(QuoteLine("Hikvision UK Ltd", "Axis", "P3245-LVE"), ORDINARY, packaged_kb)
    assert decision.decision == Decision.REVIEW
    assert has(decision, "supplier: Hikvision UK Limited is subject")
    partial = one(QuoteLine("Dahua Security Solutions (Reseller) Ltd", "Axis", "P3245-LVE"), ORDINARY, packaged_kb)
    assert partial.decision == Decision.REVIEW and has(partial, "confirm who the supplier is")
    reseller = one(QuoteLine("Norbain SD", "Axis", "P3245-LVE"), ORDINARY, packaged_kb)
    assert reseller.decision == Decision.ALLOW


# --------------------------------------------------------------------------- attestations


def attestation(statement: Statement = Statement.NO_COVERED_EQUIPMENT, signed: date = date(2026, 1, 5),
                expires: date = date(2027, 1, 5), supplier: str = "Acme Security Limited") -> Attestation:
    return Attestation(supplier, statement, signed, expires, "rep-acme.pdf")


def test_an_expired_attestation_is_a_reason_not_an_override(packaged_kb):
    lapsed = [attestation(signed=date(2025, 1, 5), expires=date(2026, 1, 5))]
    denied = one(QuoteLine("ACME Security Ltd", "Hikvision", "DS-2CD2143G2-I"), SENSITIVE, packaged_kb,
                 attestations=lapsed)
    assert denied.decision == Decision.DENY and has(denied, "expired on 2026-01-05")
    allowed = one(QuoteLine("ACME Security Ltd", "Axis", "P3245-LVE"), SENSITIVE, packaged_kb, attestations=lapsed)
    assert allowed.decision == Decision.ALLOW and has(allowed, "expired")


def test_an_attestation_the_line_contradicts_never_clears_it(packaged_kb):
    current = [attestation()]
    denied = one(QuoteLine("Acme Security Ltd", "Dahua", "IPC-HFW2431S-S-S2"), SENSITIVE, packaged_kb,
                 attestations=current)
    assert denied.decision == Decision.DENY
    assert has(denied, "attestation contradicted", "Dahua", "52.204-25(d)")
    nil = one(QuoteLine("Acme Security Ltd", "Uniview", "IPC2122LB-SF28K-A"), US_SITE, packaged_kb,
              attestations=[attestation(Statement.NO_NIL_PRODUCER), attestation()])
    assert nil.decision == Decision.REVIEW and has(nil, "attestation contradicted", "National Intelligence Law")


def test_us_screening_wants_a_current_representation(packaged_kb):
    line = QuoteLine("Acme Security Ltd", "Axis", "P3245-LVE")
    without = one(line, US_SITE, packaged_kb)
    assert without.decision == Decision.REVIEW and has(without, "FAR 52.204-24")
    assert one(line, US_SITE, packaged_kb, attestations=[attestation()]).decision == Decision.ALLOW
    not_yet = one(line, US_SITE, packaged_kb, attestations=[attestation(signed=date(2027, 1, 1),
                                                                        expires=date(2028, 1, 1))])
    assert not_yet.decision == Decision.REVIEW and has(not_yet, "does not count yet")


# --------------------------------------------------------------------------- the lines themselves


def test_input_order_is_kept_and_lines_are_numbered_from_one(packaged_kb):
    lines = [QuoteLine(brand="Axis", model="P3245-LVE"), QuoteLine(brand="HiLook", model="IPC-B140H"),
             QuoteLine(description="Delivery"), QuoteLine(brand="Acme")] * 3
    decisions = screen(lines, SENSITIVE, packaged_kb, ON)
    assert [d.line for d in decisions] == list(range(1, 13))
    assert [d.decision.value for d in decisions] == ["allow", "deny", "allow", "review"] * 3
    assert [d.brand for d in decisions] == [line.brand for line in lines]


@pytest.mark.parametrize("quantity, error", [(0, "quantity 0 must be at least 1"),
                                             (-3, "quantity -3 must be at least 1")])
def test_a_bad_quantity_is_a_line_error_and_never_allowed(packaged_kb, quantity, error):
    decision = one(QuoteLine(brand="Axis", model="P3245-LVE", quantity=quantity), SENSITIVE, packaged_kb)
    assert decision.errors == (error,)
    assert decision.decision == Decision.REVIEW and decision.summary == f"line error: {error}"


def test_an_empty_line_is_a_line_error(packaged_kb):
    decision = one(QuoteLine(supplier="Acme", quantity=1), SENSITIVE, packaged_kb)
    assert decision.decision == Decision.REVIEW
    assert decision.errors == ("empty line: no brand, model, SKU or description to screen",)
    assert decision.producer is None and decision.nil_subject == NilSubject.UNKNOWN


def test_the_decision_json_has_the_agreed_fields(packaged_kb):
    decision = one(QuoteLine("Acme", "HiLook", "IPC-B140H", "HIL-1", "bullet", 3, source="q.csv row 5"), SENSITIVE,
                   packaged_kb)
    data = json.loads(json.dumps(decision.as_dict()))
    assert list(data)[:8] == ["line", "supplier", "brand", "model", "decision", "producer", "nil_subject", "reasons"]
    assert data["line"] == 1 and data["decision"] == "deny" and data["nil_subject"] == "yes"
    assert data["producer"]["id"] == "hikvision" and data["quantity"] == 3 and data["source"] == "q.csv row 5"


# --------------------------------------------------------------------------- reading quotes


def test_a_messy_csv_quote_is_read_with_header_synonyms_and_junk_rows_reported():
    read = read_quote((QUOTES / "sample_quote.csv").read_bytes(), "sample_quote.csv")
    assert read.header_row == 4
    assert read.columns == {"supplier": "Vendor", "brand": "Make", "model": "Part No", "sku": "Item Code",
                            "description": "Item Description", "quantity": "Qty"}
    assert [line.source for line in read.lines][:2] == ["sample_quote.csv row 5", "sample_quote.csv row 6"]
    assert len(read.lines) == 7
    assert read.messages() == [
        "sample_quote.csv: row 11: no brand, model, SKU or description ('Subtotal, £5000.00'); skipped",
        "sample_quote.csv: row 12: repeated header row; skipped",
        "sample_quote.csv: row 15: a total row ('Total, £9999.00'); skipped",
        "sample_quote.csv: row 16: no brand, model, SKU or description ('0'); skipped",
    ]
    ten = read.lines[5]
    assert ten.quantity is None and ten.problems == ("quantity 'ten' is not a number",)


def test_hostile_cells_stay_text_from_csv_to_decision(packaged_kb):
    read = read_quote((QUOTES / "sample_quote.csv").read_bytes(), "sample_quote.csv")
    hostile = read.lines[6]
    assert hostile.brand == '=HYPERLINK("http://evil.example","click")'
    assert hostile.model == "<script>alert(1)</script>"
    decision = screen(read.lines, SENSITIVE, packaged_kb, ON)[6]
    assert decision.brand == hostile.brand and decision.model == hostile.model
    assert decision.decision == Decision.REVIEW  # nothing identifies it
    assert "<script>alert(1)</script>" in json.dumps(decision.as_dict())  # escaping is the page's job
    bad_quantity = screen(read.lines, SENSITIVE, packaged_kb, ON)[5]
    assert bad_quantity.errors == ("quantity 'ten' is not a number",)
    assert bad_quantity.decision == Decision.DENY  # the product is still screened


def _xlsx(rows: list[list[object]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("Quote")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def test_an_xlsx_quote_is_read_and_formula_text_stays_text():
    data = _xlsx([["Reseller", "Manufacturer", "MPN", "SKU", "Description", "Quantity", "Core network"],
                  ["Midwich", "Dahua", "IPC-HFW2431S-S-S2", "", "bullet", 4.0, "yes"],
                  ["Midwich", "=1+2", "@SUM(A1)", "", "+cmd", 2.5, "maybe"]])
    read = read_quote(data, "quote.xlsx")
    first, second = read.lines
    assert first.quantity == 4 and first.connects_to_core is True and first.source == "quote.xlsx row 2"
    assert (second.brand, second.model, second.description) == ("=1+2", "@SUM(A1)", "+cmd")
    assert second.quantity is None and second.connects_to_core is None
    assert second.problems == ("quantity 2.5 is not a whole number",
                               "core network 'maybe' is not yes or no; treated as not stated")


def test_json_lines_are_read_one_object_per_line():
    data = (
        b'{"Vendor": "Norbain", "Make": "Axis", "Model": "P3245-LVE", "Qty": 2}\n'
        b'\n'
        b'not json\n'
        b'[1, 2]\n'
        b'{"supplier": "Norbain", "brand": "<script>x</script>", "description": "camera", "quantity": "3 pcs",'
        b' "extra": {"nested": true}}\n'
        b'{"supplier": "Norbain", "unit_price": 4}\n'
    )
    read = read_quote(data, "quote.jsonl")
    assert [(line.brand, line.quantity, line.source) for line in read.lines] == [
        ("Axis", 2, "quote.jsonl line 1"), ("<script>x</script>", 3, "quote.jsonl line 5")]
    assert read.messages() == [
        "quote.jsonl: line 3: not valid JSON (Expecting value); skipped",
        "quote.jsonl: line 4: not a JSON object; skipped",
        "quote.jsonl: line 6: no brand, model, SKU or description ('Norbain, 4'); skipped",
    ]


@pytest.mark.parametrize("data, name, message", [
    (b"hello,world\n1,2\n", "quote.csv", "quote.csv: no header row in the first 30 rows"),
    (b"\x00\x01\x02binary", "quote.csv", "quote.csv: binary data, not a CSV quote"),
    (b"PK\x03\x04junk", "quote.xlsx", "quote.xlsx: not a readable spreadsheet"),
    (b"[1, 2", "quote.json", "quote.json: not valid JSON"),
])
def test_an_unreadable_quote_is_one_line_naming_the_file(data, name, message):
    with pytest.raises(QuoteError) as info:
        read_quote(data, name)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


# --------------------------------------------------------------------------- attestation files


def test_attestations_load_from_yaml_and_csv():
    yaml_text = b"""
- supplier: Acme Security Ltd
  statement: does not provide covered equipment
  signed: 2026-01-05
  expires: 2027-01-05
  source: SAM.gov representation
- {supplier: Norbain SD, statement: no_nil_producer, signed: 05/02/2026, expires: 2027-02-05, source: letter}
"""
    first, second = parse_attestations(yaml_text, "attestations.yaml")
    assert first == Attestation("Acme Security Ltd", Statement.NO_COVERED_EQUIPMENT, date(2026, 1, 5),
                                date(2027, 1, 5), "SAM.gov representation")
    assert second.statement == Statement.NO_NIL_PRODUCER and second.signed == date(2026, 2, 5)
    csv_text = b"Supplier,Statement,Signed,Expires,Source\nAcme,52.204-24(d)(2),2026-01-01,2026-12-31,offer 7\n"
    [third] = parse_attestations(csv_text, "attestations.csv")
    assert third.statement == Statement.NO_COVERED_USE


@pytest.mark.parametrize("text, name, message", [
    (b"- {supplier: Acme, statement: trust me, signed: 2026-01-01, expires: 2027-01-01, source: x}", "a.yaml",
     "a.yaml: entry 1: statement 'trust me' is not one screening knows"),
    (b"- {supplier: Acme, statement: no covered equipment, signed: 2026-01-01, expires: 2025-01-01, source: x}",
     "a.yaml", "a.yaml: entry 1: expires 2025-01-01 is not after signed 2026-01-01"),
    (b"- {supplier: Acme, statement: no covered equipment, signed: soon, expires: 2027-01-01, source: x}", "a.yaml",
     "a.yaml: entry 1: signed 'soon' is not a date"),
    (b"- {supplier: '', statement: no covered equipment, signed: 2026-01-01, expires: 2027-01-01, source: x}",
     "a.yaml", "a.yaml: entry 1: supplier is missing"),
    (b"- {supplier: Acme, statement: no covered equipment, signed: 2026-01-01, expires: 2027-01-01, by: me}", "a.yaml",
     "a.yaml: entry 1: unknown field(s) by"),
    (b"supplier: Acme", "a.yaml", "a.yaml: expected a list of attestations"),
    (b"supplier,statement,signed\nAcme,x,2026-01-01\n", "a.csv", "a.csv: missing column(s) expires, source"),
    (b"supplier,statement,signed,expires,source\nAcme,no covered use,2026-01-01,,x\n", "a.csv",
     "a.csv: row 2: expires is missing"),
])
def test_a_bad_attestation_is_one_line_naming_the_file_and_entry(text, name, message):
    with pytest.raises(AttestationError) as info:
        parse_attestations(text, name)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
