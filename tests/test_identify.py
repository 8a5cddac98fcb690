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


def banner(kb, text, signal=Signal.BANNER, when=None):  # type: ignore[no-untyped-def]
    return identify([Evidence(signal, text, "command line --banner")], kb, when)


def test_realm_rules_read_the_whole_authenticate_header_as_scanners_record_it(packaged_kb):
    kb = packaged_kb  # these replay the packaged fingerprints, not the small fixture base
    for text in ('Basic realm="IP Camera(C2183)"', 'Digest qop="auth", realm="IP Camera(C2183)", nonce="4e56"',
                 "WWW-Authenticate: Digest realm=DVRNVRDVS, nonce=4e56"):
        assert banner(kb, text, Signal.HTTP_REALM).producer_id == "hikvision", text
        assert banner(kb, text).producer_id == "hikvision", text
    reply = "HTTP/1.1 401 Unauthorized\\r\\nWWW-Authenticate: Digest realm=\"Login to 8F0A2F3PAJ00123\", nonce=\"1\""
    assert banner(kb, reply).producer_id == "dahua"  # nmap writes line breaks as \r\n


def test_a_makers_name_in_its_own_banner_is_strong_enough_to_clear_it(packaged_kb):
    kb = packaged_kb  # these replay the packaged fingerprints, not the small fixture base
    for text, producer in (("AXIS 216FD Network Fixed Dome Camera 4.47 (Mar 13 2008) ready.", "axis"),
                           ("Welcome to AutoDome 800 HD 1.2.3.4 from 5.6.7.8", "bosch_security"),
                           ("HTTP/1.1 200 OK\r\nServer: VCS-VideoJet-Webserver\r\n\r\n", "bosch_security")):
        identity = banner(kb, text)
        assert identity.producer_id == producer, text
        assert identity.confidence >= 0.5, text
    canon = banner(kb, "Canon Network Camera VB-C60", Signal.SNMP_SYSDESCR)
    assert canon.producer_id == "canon" and any("banner names Canon" in link.note for link in canon.evidence)
    axis = banner(kb, "CN=axis-accc8ea31abf,O=Axis Communications AB", Signal.TLS_SUBJECT)
    assert axis.producer_id == "axis"


def test_names_in_banners_are_whole_words_and_common_words_are_not_brands(packaged_kb):
    kb = packaged_kb  # these replay the packaged fingerprints, not the small fixture base
    assert banner(kb, "Linux 5.15 Ubuntu 22.04 LTS", Signal.SNMP_SYSDESCR).producer_id is None  # LTS is a brand too
    assert banner(kb, "Samsung CLX-7285", Signal.SNMP_SYSDESCR).producer_id is None  # a printer, not Samsung Techwin
    assert banner(kb, "Hikvisionfans media server").producer_id is None
    assert banner(kb, "Web Viewer for Samsung DVR", Signal.HTTP_TITLE).producer_id == "hanwha_vision"


def test_a_brand_that_is_an_ordinary_word_needs_another_word_beside_it_in_a_banner(packaged_kb):
    kb = packaged_kb
    assert banner(kb, "Axon Networks router").producer_id is None  # another firm of the same word
    assert banner(kb, "ring").producer_id is None
    assert banner(kb, "Ring Video Doorbell").producer_id == "ring"
    assert banner(kb, "Axon Enterprise body camera").producer_id == "axon"


def test_a_rule_that_explains_a_banner_is_not_counted_again_for_the_name_in_it(packaged_kb):
    kb = packaged_kb  # these replay the packaged fingerprints, not the small fixture base
    identity = banner(kb, "Hikvision-Webs", Signal.HTTP_SERVER)
    assert [link.note for link in identity.evidence] == ["fingerprint hikvision-webs-family"]


def test_white_label_firmware_goes_to_review_without_a_producer(packaged_kb):
    kb = packaged_kb  # these replay the packaged fingerprints, not the small fixture base
    from clearsite.core.assess import nil_verdict

    for text in ("HTTP/1.1 404 Not Found\r\nServer: Netwave IP Camera\r\n\r\n", "Hipcam RealServer/V1.0"):
        identity = banner(kb, text)
        assert identity.producer_id is None, text
        verdict = nil_verdict(identity, kb, date(2026, 12, 1))
        assert verdict.subject.value == "review", text
        assert "not settled" in verdict.reasons[0]


def test_tp_link_banner_maker_follows_the_install_date(packaged_kb):
    kb = packaged_kb  # these replay the packaged fingerprints, not the small fixture base
    text = 'Basic realm="TP-LINK Wireless N Router WR841N"'
    assert banner(kb, text, Signal.HTTP_REALM, date(2022, 6, 1)).producer_id == "tplink_cn"
    assert banner(kb, text, Signal.HTTP_REALM).producer_id is None  # undated: the maker cannot be settled
    certificate = "CN=TP-LINK CA,O=TP-LINK Technologies CO.\\, LTD.,L=Shenzhen,ST=Guangdong,C=CN"
    assert banner(kb, certificate, Signal.TLS_SUBJECT).producer_id == "tplink_cn"


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


def test_a_huge_banner_is_read_only_near_its_start(packaged_kb):
    from clearsite.core.identify.banners import MAX_READ_CHARS, readings

    text = "HTTP/1.1 200 OK\r\nServer: App-webs/\r\n\r\n" + "<title>x " * 400_000 + "Axis"
    assert all(len(part) <= MAX_READ_CHARS for _, part in readings(Signal.BANNER, text))
    identity = banner(packaged_kb, text)
    assert identity.producer_id == "hikvision"
    assert not any(link.supports == "axis" for link in identity.evidence)  # the name past the cut is not read
