"""Properties of screening that must hold for any input, not just the examples we thought of."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from clearsite.core.assess.nil import determine
from clearsite.core.models import NilSubject, Site
from clearsite.core.screen import Attestation, Decision, QuoteLine, Statement, screen
from clearsite.formats.knowledge import load_knowledge
from clearsite.formats.quotes import QuoteError, read_quote

KB = load_knowledge()
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Badges and part numbers of NIL-subject producers, including relabels, misspellings and SKUs.
NIL_BRANDS = ["Hikvision", "HIKVISION", "Hikvison", "HiLook", "HiWatch", "EZVIZ", "LTS", "Interlogix", "TruVision",
              "Annke", "Dahua", "Dahau", "Imou", "Amcrest", "EmpireTech", "Loryta", "IC Realtime", "CP Plus", "Uniview",
              "UNV", "Uniarch", "Tiandy", "TVT", "Milesight", "XMEye", "Zosi", "Reolink", "Huawei", "Hytera", "DJI"]
NIL_MODELS = ["DS-2CD2143G2-I", "IPC-HFW2431S-S-S2", "IPC2122LB-SF28K-A", "DS-7608NI-K2/8P", "TC-C32GN",
              "MS-C2962-FPB", "RLC-810A", "E891AB", "HIK-DS-2CD2047G2-L", "IPC-B140H", "NVR4216-16P-4KS2"]
ANY_TEXT = st.one_of(st.none(), st.text(max_size=80), st.text(alphabet=st.characters(codec="utf-8"), max_size=700))
SITES = st.builds(Site, name=st.just("S"), department=st.just("D"), holds_secret=st.booleans(), dv_hub=st.booleans(),
                  ministerial=st.booleans(), socpa=st.booleans(), jurisdiction=st.sampled_from(["GB", "US", "AU", "FR"]))
SENSITIVE_SITES = st.builds(Site, name=st.just("S"), department=st.just("D"), holds_secret=st.just(True),
                            jurisdiction=st.sampled_from(["GB", "US", "AU", "FR"]))
DATES = st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31))
ATTESTATIONS = st.lists(st.builds(
    Attestation, supplier=st.text(max_size=30), statement=st.sampled_from(list(Statement)),
    signed=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    expires=st.dates(min_value=date(2030, 1, 2), max_value=date(2035, 1, 1)), source=st.just("test")), max_size=3)


def lines(brands: st.SearchStrategy[str | None], models: st.SearchStrategy[str | None]) -> st.SearchStrategy[QuoteLine]:
    return st.builds(QuoteLine, supplier=ANY_TEXT, brand=brands, model=models, sku=ANY_TEXT, description=ANY_TEXT,
                     quantity=st.one_of(st.none(), st.integers(min_value=-10**12, max_value=10**12)),
                     connects_to_core=st.one_of(st.none(), st.booleans()))


@SETTINGS
@given(st.lists(lines(ANY_TEXT, ANY_TEXT), max_size=8), SITES, DATES, ATTESTATIONS)
# Found by hypothesis: a name that fits several makers, one NIL-subject, on a date before any policy was
# in force, was allowed although nobody could say who made it.
@example([QuoteLine(supplier=None, brand=None, model=None, sku=None, description="SWANN")],
         Site(name="S", department="D"), date(2018, 1, 1), [])
def test_screen_never_crashes_and_keeps_every_line_in_order(quote, site, on, attestations):
    decisions = screen(quote, site, KB, on, attestations)
    assert [d.line for d in decisions] == list(range(1, len(quote) + 1))
    for line, decision in zip(quote, decisions, strict=True):
        assert decision.decision in Decision
        assert decision.reasons, "every decision says why"
        assert decision.as_dict()["line"] == decision.line
        if decision.errors:
            assert decision.decision != Decision.ALLOW
        if decision.producer is None and decision.decision == Decision.ALLOW:
            assert any("passive" in r or "service" in r for r in decision.reasons), line


@SETTINGS
@given(st.lists(lines(st.sampled_from(NIL_BRANDS) | ANY_TEXT, st.sampled_from(NIL_MODELS) | ANY_TEXT),
                min_size=1, max_size=6), SENSITIVE_SITES, st.dates(min_value=date(2023, 1, 1),
                                                                    max_value=date(2035, 12, 31)), ATTESTATIONS)
def test_a_nil_subject_producer_is_never_allowed_at_a_sensitive_site(quote, site, on, attestations):
    for decision in screen(quote, site, KB, on, attestations):
        if decision.nil_subject == NilSubject.YES:
            assert decision.decision != Decision.ALLOW, decision.reasons
        if decision.producer is not None and determine(decision.producer.id, on, KB).result == NilSubject.YES:
            assert decision.decision != Decision.ALLOW, decision.reasons


@SETTINGS
@given(st.sampled_from(NIL_BRANDS), st.sampled_from(NIL_MODELS), SENSITIVE_SITES, ATTESTATIONS)
def test_no_attestation_clears_a_known_nil_product(brand, model, site, attestations):
    line = QuoteLine(supplier=attestations[0].supplier if attestations else "Acme", brand=brand, model=model)
    [decision] = screen([line], site, KB, date(2026, 6, 1), attestations)
    assert decision.decision != Decision.ALLOW


@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from(["q.csv", "q.jsonl", "q.json", "q.xlsx", "q.txt"]))
def test_reading_any_bytes_gives_lines_or_one_quote_error(data, name):
    try:
        read = read_quote(data, name)
    except QuoteError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(name)
        return
    for line in read.lines:
        assert line.source and line.source.startswith(name)
    screen(read.lines, Site("S", "D", holds_secret=True), KB, date(2026, 6, 1))
