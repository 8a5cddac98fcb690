"""Assessment: the NIL determination with its basis, and policy obligations → findings."""

from __future__ import annotations

from datetime import date

import pytest

from clearsite.core.assess import assess_device, designations_at, determine, nil_verdict
from clearsite.core.identify import identify, register_evidence
from clearsite.core.models import DeviceFacts, Network, NilSubject, Site, Status

TODAY = date(2026, 11, 29)
SENSITIVE = Site("HQ", "Dept", holds_secret=True,
                 networks=(Network("127.20.0.0/16"), Network("127.20.1.0/24", core=True)))
ORDINARY = Site("Depot", "Dept", networks=(Network("127.30.0.0/16"),))


@pytest.mark.parametrize(("company", "result", "basis"), [
    ("hikvision", NilSubject.YES, "PRC_INCORPORATED"),
    ("example_offshore", NilSubject.YES, "PRC_HQ_OFFSHORE_HOLDCO"),
    ("hikvision_uk", NilSubject.YES, "PRC_CONTROLLED_FOREIGN_SUB"),
    ("example_hk", NilSubject.REVIEW, "HK_OR_MACAU"),
    ("lorex", NilSubject.NO, "FORMER_PRC_CONTROL"),
    ("example_split", NilSubject.REVIEW, "CLAIMED_SEPARATION"),
    ("axis", NilSubject.NO, "NON_PRC"),
])
def test_nil_basis_codes(kb, company, result, basis):
    determination = determine(company, TODAY, kb)
    assert (determination.result, determination.basis) == (result, basis)
    assert determination.reasons


def test_ownership_over_time(kb):
    during = determine("lorex", date(2020, 1, 1), kb)
    assert during.result == NilSubject.YES and during.basis == "PRC_CONTROLLED_FOREIGN_SUB"
    assert determine("lorex", date(2018, 1, 1), kb).basis == "NON_PRC"


def test_hong_kong_is_a_policy_parameter(kb):
    assert determine("example_hk", TODAY, kb, "yes").result == NilSubject.YES
    assert determine("example_hk", TODAY, kb, "no").result == NilSubject.NO


def test_designations_extend_to_subsidiaries_at_a_date(kb):
    assert [c.via for c in designations_at("ezviz", TODAY, kb)] == ["hikvision"]
    assert designations_at("hikvision", date(2019, 1, 1), kb) == []


def facts(kb, site, installed=None, ip=None, removed=None, **fields):  # type: ignore[no-untyped-def]
    identity = identify(register_evidence("row", **fields), kb, installed)
    return DeviceFacts(1, site, identity, ip, installed, removed)


def statuses(findings):  # type: ignore[no-untyped-def]
    return {f.obligation: f.status for f in findings}


def uk(kb):  # type: ignore[no-untyped-def]
    policy = kb.policies["uk-hcws386"]
    return policy


def test_sensitive_site_on_core_network_after_the_deadline(kb):
    device = facts(kb, SENSITIVE, date(2021, 5, 1), "127.20.1.5", brand="Hikvision", model="DS-2CD2143G2-I")
    result = statuses(assess_device(device, uk(kb), kb, TODAY))
    assert result == {"O1": Status.COMPLIANT, "O2": Status.BREACH, "O3": Status.OVERDUE}


def test_new_deployment_after_the_statement_is_a_breach(kb):
    device = facts(kb, SENSITIVE, date(2023, 2, 1), "127.20.5.5", brand="Hikvision", model="DS-2CD2143G2-I")
    findings = assess_device(device, uk(kb), kb, date(2024, 6, 1))
    assert statuses(findings) == {"O1": Status.BREACH, "O2": Status.COMPLIANT, "O3": Status.DUE}
    o3 = next(f for f in findings if f.obligation == "O3")
    assert o3.due == date(2025, 4, 30)


def test_non_sensitive_site_gets_advice_not_a_deadline(kb):
    device = facts(kb, ORDINARY, date(2021, 5, 1), "127.30.0.9", brand="Dahua")
    assert statuses(assess_device(device, uk(kb), kb, TODAY)) == {"O2": Status.COMPLIANT, "O4": Status.ADVISORY}


def test_non_subject_producer_is_compliant(kb):
    device = facts(kb, SENSITIVE, date(2023, 5, 1), "127.20.1.5", brand="Axis")
    assert set(statuses(assess_device(device, uk(kb), kb, TODAY)).values()) == {Status.COMPLIANT}


def test_unknown_install_date_and_ip_go_to_review(kb):
    device = facts(kb, SENSITIVE, brand="Hikvision", model="DS-2CD2143G2-I")
    result = statuses(assess_device(device, uk(kb), kb, TODAY))
    assert result["O1"] == Status.REVIEW and result["O2"] == Status.REVIEW and result["O3"] == Status.OVERDUE


def test_weak_or_contested_identification_goes_to_review(kb):
    weak = facts(kb, SENSITIVE, date(2021, 1, 1), "127.20.2.2", mac="BC:AD:28:00:00:01")
    assert set(statuses(assess_device(weak, uk(kb), kb, TODAY)).values()) == {Status.REVIEW}
    unknown = facts(kb, SENSITIVE, date(2021, 1, 1), "127.20.2.2", brand="Acme Widgets")
    assert nil_verdict(unknown.identity, kb, TODAY).subject == NilSubject.UNKNOWN


def test_removed_device_is_compliant(kb):
    device = facts(kb, SENSITIVE, date(2021, 5, 1), "127.20.1.5", removed=date(2024, 9, 1), brand="Hikvision")
    assert set(statuses(assess_device(device, uk(kb), kb, TODAY)).values()) == {Status.COMPLIANT}


def test_obligations_not_yet_in_force_produce_nothing(kb):
    device = facts(kb, SENSITIVE, date(2021, 5, 1), "127.20.1.5", brand="Hikvision")
    assert assess_device(device, uk(kb), kb, date(2022, 1, 1)) == []


def test_us_889_follows_the_designation_and_its_date(kb):
    policy = kb.policies["us-ndaa-889"]
    device = facts(kb, ORDINARY, date(2020, 1, 1), None, brand="EZVIZ")
    findings = assess_device(device, policy, kb, TODAY)
    assert statuses(findings) == {"a1A": Status.BREACH, "a1B": Status.ADVISORY}
    assert any("subsidiary or affiliate" in r for f in findings for r in f.reasons)
    axis = facts(kb, ORDINARY, date(2020, 1, 1), None, brand="Axis")
    assert set(statuses(assess_device(axis, policy, kb, TODAY)).values()) == {Status.COMPLIANT}


def test_australian_policy_names_entities_and_their_subsidiaries(kb):
    policy = kb.policies["au-defence-2023"]
    device = facts(kb, ORDINARY, date(2020, 1, 1), None, brand="EZVIZ")
    assert statuses(assess_device(device, policy, kb, TODAY)) == {"remove": Status.DUE}


# --------------------------------------------------------------------------- the packaged knowledge: time, lineage,
# contested lines and the PRC kit classes of issue 10, replayed through identification and the NIL verdict


def _verdict(knowledge, brand=None, model=None, installed=None, mac=None, description=None):
    identity = identify(register_evidence("row", brand=brand, model=model, mac=mac, description=description),
                        knowledge, installed)
    return identity, nil_verdict(identity, knowledge, TODAY, produced=installed)


@pytest.mark.parametrize(("brand", "model", "installed", "producer", "subject"), [
    # Made by the Shenzhen company before TP-Link Systems became the parent (October 2024): never cleared.
    ("VIGI", "C340", date(2022, 6, 1), "tplink_cn", NilSubject.YES),
    ("Tapo", "C200", date(2023, 3, 1), "tplink_cn", NilSubject.YES),
    ("TP-Link", "VIGI NVR1004H-4P", date(2024, 9, 30), "tplink_cn", NilSubject.YES),
    # From October 2024 the contested separation goes to a person, not to "no".
    ("VIGI", "C340", date(2024, 10, 1), "tplink_systems", NilSubject.REVIEW),
    ("Tapo", "C310", date(2025, 6, 1), "tplink_systems", NilSubject.REVIEW),
    # No install date: either maker is possible, one of them subject.
    ("VIGI", "C540", None, None, NilSubject.REVIEW),
    ("TP-LINK (China)", "TL-IPC44AW", None, "tplink_cn", NilSubject.YES),
])
def test_tp_link_follows_who_made_it_when(packaged_kb, brand, model, installed, producer, subject):
    identity, verdict = _verdict(packaged_kb, brand, model, installed)
    assert identity.producer_id == producer
    assert verdict.subject == subject, verdict.reasons


def test_no_date_tp_link_unit_is_never_cleared(packaged_kb):
    for installed in (None, date(2019, 1, 1), date(2023, 12, 31), date(2026, 1, 1)):
        _, verdict = _verdict(packaged_kb, "TP-Link", "Tapo C200", installed)
        assert verdict.subject != NilSubject.NO, installed


@pytest.mark.parametrize(("brand", "model"), [
    ("Panasonic", "WV-S2131L"), ("Panasonic", "WV-S2136"), ("i-PRO", "WV-S2136LA"), ("Panasonic", "WV-X2551LN")])
def test_panasonic_and_i_pro_are_one_lineage_not_a_contradiction(packaged_kb, brand, model):
    identity, verdict = _verdict(packaged_kb, brand, model)
    assert identity.producer_id in ("panasonic", "i_pro") and not identity.contradictions
    assert verdict.subject == NilSubject.NO


def test_lineage_joins_groups_only_where_recorded(packaged_kb):
    assert packaged_kb.same_group("i_pro", "panasonic")
    assert packaged_kb.lineage_root("i_pro") == "panasonic"
    assert not packaged_kb.same_group("i_pro", "sony")  # near miss: two Japanese makers, no lineage
    assert not packaged_kb.same_group("luminys", "dahua")  # a sold subsidiary is ownership, not lineage


@pytest.mark.parametrize(("brand", "model", "check"), [
    ("Honeywell", "HEN28111", "Performance and equIP"),
    ("Honeywell", "HBW4PER2K", "Performance and equIP"),
    ("Honeywell", None, "Performance and equIP"),
    ("Luminys", "LNB4301", "Dahua"),
    ("Wyze", "Cam v3", "FCC ID"),
])
def test_contested_lines_go_to_review_saying_what_to_check(packaged_kb, brand, model, check):
    _, verdict = _verdict(packaged_kb, brand, model)
    assert verdict.subject == NilSubject.REVIEW, verdict.reasons
    assert any(check in reason for reason in verdict.reasons), verdict.reasons


def test_contested_badge_does_not_override_firm_evidence(packaged_kb):
    # Near miss: a full Hikvision model under a Honeywell badge is still Hikvision's, and subject.
    identity, verdict = _verdict(packaged_kb, "Honeywell", "DS-2CD2143G2-I")
    assert identity.producer_id == "hikvision" and verdict.subject == NilSubject.YES
    # The Wyze Cam v2 is a known HuaLai product: subject, not a review.
    identity, verdict = _verdict(packaged_kb, "Wyze", "Cam v2")
    assert identity.producer_id == "hualai" and verdict.subject == NilSubject.YES


def test_luminys_before_the_sale_was_dahua_usa(packaged_kb):
    _, verdict = _verdict(packaged_kb, "Luminys", "LNB4301", date(2023, 6, 1))
    assert verdict.subject != NilSubject.NO


def test_assessment_memo_keeps_contested_badges_apart(packaged_kb):
    from dataclasses import replace

    from clearsite.core.assess import Assessment

    policy = packaged_kb.policies["uk-hcws386"]
    contested = identify(register_evidence("a", brand="Honeywell", model="HEN28111"), packaged_kb)
    plain = replace(contested, label_brand=None)
    assessment = Assessment(policy, packaged_kb, TODAY)
    first = assessment.outcomes(DeviceFacts(1, SENSITIVE, contested))
    second = assessment.outcomes(DeviceFacts(2, SENSITIVE, plain))
    assert any("contested badge" in r for o in first for r in o.reasons)
    assert not any("contested badge" in r for o in second for r in o.reasons)


@pytest.mark.parametrize(("brand", "model", "producer"), [
    (None, "HM-TD1228-7", "hikmicro"),
    (None, "HM-TD2628-3/G1/T3A", "hikmicro"),
    ("Hikrobot", "MV-CA050-10GM", "hikrobot"),
    ("Akuvox", "R20A", "akuvox"),
    ("DNAKE", None, "dnake"),
    ("Fanvil", None, "fanvil"),
    ("Leelen", None, "leelen"),
    ("Yealink", "VC800", "yealink"),
    ("ZKTeco", None, "zkteco"),
    (None, "SpeedFace-V5L", "zkteco"),
    ("Guide Infrared", None, "guide_infrared"),
    ("ASECAM", None, "xiongmai"),
    ("Quectel", None, "quectel"),
    ("Fibocom", None, "fibocom"),
    ("Lenovo", "ThinkSystem SR650", "lenovo"),
    ("Inspur", None, "inspur"),
    ("DJI", None, "dji"),
    ("Autel Robotics", None, "autel"),
])
def test_prc_kit_classes_are_named_and_subject(packaged_kb, brand, model, producer):
    identity, verdict = _verdict(packaged_kb, brand, model)
    assert identity.producer_id == producer
    assert verdict.subject == NilSubject.YES, verdict.reasons


@pytest.mark.parametrize(("brand", "model", "producer"), [
    ("GeoVision", "GV-BL2702", "geovision"),
    (None, "GV-FD4700", "geovision"),
    ("Dynacolor", None, "dynacolor"),
    ("2N", "IP Verso", "two_n"),
    ("Paxton", "Net2 Entry", "paxton"),
    ("Axon", "Body 3", "axon"),
    ("Ring", "Video Doorbell 4", "ring"),
    ("Grandstream", "GSC3610", "grandstream"),
    ("Edesix", "VB400", "edesix"),
    ("Night Owl", None, "night_owl"),
])
def test_non_prc_lookalikes_are_cleared_not_unknown(packaged_kb, brand, model, producer):
    identity, verdict = _verdict(packaged_kb, brand, model)
    assert identity.producer_id == producer
    assert verdict.subject == NilSubject.NO, verdict.reasons


def test_lookalike_near_misses(packaged_kb):
    # "Guide" alone is a word, not Guide Infrared; an installation guide names no maker.
    identity, _ = _verdict(packaged_kb, None, None, description="see installation guide, camera 4")
    assert identity.producer_id != "guide_infrared"
    # "Ring" is also a word: a description's "ring road" names no maker and does not weaken a Hikvision model.
    identity, _ = _verdict(packaged_kb, None, None, description="ring road junction camera")
    assert identity.producer_id is None
    identity, verdict = _verdict(packaged_kb, None, "DS-2CD2143G2-I", description="pole on the ring road")
    assert identity.producer_id == "hikvision" and not identity.alternatives and verdict.subject == NilSubject.YES
    # A 2N intercom is Axis's (Sweden), grouped with Axis, and not PRC.
    assert packaged_kb.same_group("two_n", "axis")
    # SV3C is no longer claimed for Xiongmai: no source shows it.
    identity, verdict = _verdict(packaged_kb, "SV3C", None)
    assert identity.producer_id is None and verdict.subject == NilSubject.UNKNOWN


def test_imou_sale_is_announced_not_completed(packaged_kb):
    owners = packaged_kb.owners_at("imou", TODAY)
    assert [o.owner for o in owners] == ["dahua"] and owners[0].valid_to is None
    assert "2025-03-03" in owners[0].note
