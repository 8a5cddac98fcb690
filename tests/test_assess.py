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
