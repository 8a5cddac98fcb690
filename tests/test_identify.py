"""Identification: evidence → producer, badge, model, class, confidence and the chain of why."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from clearsite.core.identify import identify, register_evidence
from clearsite.core.models import Evidence, Signal


def ident(kb, when=None, **fields):  # type: ignore[no-untyped-def]
    return identify(register_evidence("test row", **fields), kb, when)


def test_misspelt_brand_and_legal_suffix_still_read_as_the_brand(kb):
    for text in ("Hik-Vision Ltd", "HIKVISION", "hik vision", "Hikvison"):
        identity = ident(kb, brand=text)
        assert identity.label_brand == "Hikvision", text
        assert identity.producer_id == "hikvision", text


def test_relabel_names_the_real_producer_but_keeps_the_badge(kb):
    identity = ident(kb, brand="LTS", model="LTN8708K-P8")
    assert identity.label_brand == "LTS"
    assert identity.producer_id == "hikvision"


def test_independent_agreeing_signals_add_up(kb):
    brand_only = ident(kb, brand="Hikvision")
    with_model = ident(kb, brand="Hikvision", model="DS-2CD2143G2-I")
    with_all = ident(kb, brand="Hikvision", model="DS-2CD2143G2-I", mac="BC:AD:28:11:22:33")
    assert brand_only.confidence < with_model.confidence < with_all.confidence <= 1.0
    assert with_model.device_class == "ip_camera"


def test_a_lone_oui_is_not_proof(kb):
    identity = ident(kb, mac="BC-AD-28-11-22-33")
    assert identity.producer_id == "hikvision"
    assert identity.confidence < 0.5
    assert any("not proof" in link.note for link in identity.evidence)


def test_scale_factory_oui_block_is_not_dahua(kb):
    identity = ident(kb, mac="40:2C:76:12:34:56")
    assert identity.producer_id is None
    assert "Scale Factory" in identity.evidence[0].note


def test_locally_administered_mac_says_nothing(kb):
    identity = ident(kb, mac="02:00:00:11:22:33")
    assert identity.producer_id is None


def test_contradiction_lowers_confidence_and_says_so(kb):
    clean = ident(kb, brand="Axis")
    mixed = ident(kb, brand="Axis", mac="BC:AD:28:11:22:33")
    assert mixed.producer_id == "axis"
    assert mixed.confidence < clean.confidence
    assert mixed.contradictions and "hikvision" in mixed.contradictions[0]
    assert ("hikvision", 0.45) in mixed.alternatives


def test_group_mates_support_each_other_and_the_specific_member_is_named(kb):
    identity = ident(kb, brand="EZVIZ", mac="BC:AD:28:11:22:33")
    assert identity.producer_id == "ezviz"
    assert not identity.contradictions
    assert identity.confidence > ident(kb, brand="EZVIZ").confidence


def test_ambiguous_ipc_prefix_needs_brand_context(kb):
    alone = ident(kb, model="IPC-B140H")
    assert alone.producer_id is None
    assert {p for p, _ in alone.alternatives} == {"hikvision", "dahua"}
    assert ident(kb, brand="HiLook", model="IPC-B140H").producer_id == "hikvision"
    assert ident(kb, brand="Dahua", model="IPC-B140H").producer_id == "dahua"


def test_dated_relabel_depends_on_install_date(kb):
    assert ident(kb, date(2020, 6, 1), brand="Lorex").producer_id == "dahua"
    assert ident(kb, date(2024, 6, 1), brand="Lorex").producer_id == "lorex"
    undated = ident(kb, brand="Lorex")
    assert undated.producer_id is None
    assert any("install date unknown" in link.note for link in undated.evidence)


def test_serial_reveals_producer_and_model(kb):
    identity = ident(kb, serial="DS-2CD2385G1-I20200414AAWRE33842150")
    assert identity.producer_id == "hikvision"
    assert identity.model == "DS-2CD2385G1-I"
    assert identity.device_class == "ip_camera"


def test_banner_fingerprint_reveals_oem_badge(kb):
    identity = identify([Evidence(Signal.HTTP_SERVER, "Interlogix-Webs/1.2", "http://127.0.0.1/")], kb)
    assert identity.producer_id == "hikvision"
    assert identity.label_brand == "LTS"


def test_every_fact_is_in_the_chain_with_its_source(kb):
    identity = ident(kb, brand="Hikvision", model="XYZ-1", description="<script>alert(1)</script>")
    signals = {(link.signal, link.value, link.source) for link in identity.evidence}
    assert ("model", "XYZ-1", "test row") in signals
    assert ("description", "<script>alert(1)</script>", "test row") in signals


text = st.text(max_size=60)


@settings(max_examples=300, deadline=None)
@given(brand=text, model=text, serial=text, mac=text, description=text)
def test_identify_never_crashes_and_confidence_stays_in_range(kb, brand, model, serial, mac, description):
    identity = ident(kb, brand=brand, model=model, serial=serial, mac=mac, description=description)
    assert 0.0 <= identity.confidence <= 1.0
    if identity.producer_id is not None:
        assert identity.producer_id in kb.companies


@settings(max_examples=200, deadline=None)
@given(extra=st.sampled_from(["DS-2CD2143G2-I", "DS-2CD2385G1-I"]), mac=st.sampled_from(["BC:AD:28:00:00:01", ""]))
def test_agreeing_evidence_never_lowers_confidence(kb, extra, mac):
    base = ident(kb, brand="Hikvision")
    more = ident(kb, brand="Hikvision", model=extra, mac=mac or None)
    assert more.confidence >= base.confidence


@settings(max_examples=300, deadline=None)
@given(
    brand=st.sampled_from(["Hikvision", "LTS", "Lorex", "Axis", "Dahua", "acme", ""]),
    model=st.sampled_from(["DS-2CD2143G2-I", "IPC-B140H", "P3245", ""]),
    serial=st.sampled_from(["DS-2CD2385G1-I20200414AAWRE33842150", "DS-2CD2143G2-I20210101ABCDE1", "X1", ""]),
    mac=st.sampled_from(["BC:AD:28:00:00:01", "BC:AD:28:00:00:02", "40:2C:76:10:00:00", "02:00:00:00:00:00", "zz", ""]),
    when=st.sampled_from([None, date(2017, 1, 1), date(2020, 1, 1), date(2020, 2, 1), date(2024, 1, 1)]),
    row=st.integers(1, 5),
)
def test_memoised_identification_equals_a_fresh_one(kb, brand, model, serial, mac, when, row):
    from clearsite.core.identify.engine import _identify_uncached

    evidence = register_evidence(f"row {row}", brand=brand, model=model, serial=serial, mac=mac)
    assert identify(evidence, kb, when) == _identify_uncached(evidence, kb, when)
