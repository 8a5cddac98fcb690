"""The packaged knowledge base loads, every rule passes its own examples, and broken files fail clearly.

Recog-style self-tests: each model/serial/firmware pattern, fingerprint, device-class hint and OUI
registrant rule is replayed against the examples stored beside it, and no rule of another producer
group may claim an example that belongs to a different rule ("no earlier rule steals it").
Brand examples are replayed through the identification engine in test_knowledge_examples.py.
"""

from __future__ import annotations

import pathlib
import shutil
import struct
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from clearsite.core.knowledge import FILES, Knowledge, KnowledgeError
from clearsite.core.knowledge.schema import Fingerprint, ModelPattern
from clearsite.core.names import name_key, normalise_model
from clearsite.formats.knowledge import DATA_DIR, load_knowledge

# The 53 entities of shared/research/entities.csv: the knowledge base must keep every one.
RESEARCH_ENTITY_IDS = ["hikvision", "cethik", "cetc", "ezviz", "hikrobot", "hikmicro", "hikvision_uk", "hikvision_europe", "pyronix", "dahua", "imou", "dahua_uk", "chengdu_dahua_wisdom", "lorex", "luminys", "china_mobile", "uniview", "qianfang", "tiandy", "kedacom", "sunell", "tvt", "milesight", "xiongmai", "jovision", "infinova", "swann", "hytera", "sepura", "huawei", "hisilicon", "zte", "quectel", "tplink_cn", "tplink_systems", "anker", "xiaomi", "imilab", "yi_kami", "reolink", "foscam", "dji", "autel", "sensetime", "megvii", "cloudwalk", "yitu", "iflytek", "netposa", "meiya_pico", "yixin", "leon", "zhongdun"]


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    # An explicit directory: the packaged files, never a department override from the environment.
    return load_knowledge(DATA_DIR)


def _pattern_value(pattern: ModelPattern, text: str) -> str:
    """What the engine matches: models and serials normalised, firmware only stripped."""
    return text.strip() if pattern.field == "firmware" else normalise_model(text)


def _fingerprint_applies(fingerprint: Fingerprint, signal: str) -> bool:
    return signal in fingerprint.signals or "banner" in fingerprint.signals


# --------------------------------------------------------------------------- (a) it loads


def test_packaged_knowledge_loads(knowledge: Knowledge) -> None:
    assert knowledge.companies and knowledge.brands and knowledge.patterns and knowledge.fingerprints
    assert knowledge.class_hints and knowledge.oui.registrants and knowledge.designations
    assert len(knowledge.version) == 12


def test_default_loader_reads_the_same_packaged_files(knowledge: Knowledge, monkeypatch) -> None:
    monkeypatch.delenv("CLEARSITE_KNOWLEDGE_DIR", raising=False)
    assert load_knowledge().version == knowledge.version


# --------------------------------------------------------------------------- (b) rules pass their own examples


def test_every_pattern_matches_its_examples_and_none_of_its_near_misses(knowledge: Knowledge) -> None:
    failures = []
    for pattern in knowledge.patterns:
        regex = knowledge.compiled[f"pattern:{pattern.id}"]
        for text in pattern.examples.match:
            found = regex.search(_pattern_value(pattern, text))
            if not found:
                failures.append(f"{pattern.id}: does not match {text!r}")
                continue
            for group, expected in pattern.examples.captures.get(text, {}).items():
                if found.groupdict().get(group) != expected:
                    failures.append(f"{pattern.id}: {text!r} captures {group}={found.groupdict().get(group)!r}, "
                                    f"expected {expected!r}")
        for text in pattern.examples.no_match:
            if regex.search(_pattern_value(pattern, text)):
                failures.append(f"{pattern.id}: matches near miss {text!r}")
    assert not failures, "\n".join(failures)


def test_patterns_with_a_model_group_pin_what_it_captures(knowledge: Knowledge) -> None:
    uncovered = [p.id for p in knowledge.patterns
                 if "(?P<model>" in p.pattern and not p.examples.captures]
    assert not uncovered, f"patterns that capture a model but give no expected capture: {uncovered}"


def test_every_fingerprint_matches_its_examples_and_none_of_its_near_misses(knowledge: Knowledge) -> None:
    failures = []
    for fingerprint in knowledge.fingerprints:
        regex = knowledge.compiled[f"fingerprint:{fingerprint.id}"]
        failures += [f"{fingerprint.id}: does not match {t!r}" for t in fingerprint.examples.match if not regex.search(t)]
        failures += [f"{fingerprint.id}: matches near miss {t!r}" for t in fingerprint.examples.no_match if regex.search(t)]
    assert not failures, "\n".join(failures)


def test_every_device_class_hint_matches_its_examples_and_wins_them(knowledge: Knowledge) -> None:
    """The engine takes the first hint that matches, so each example must not be taken by an earlier hint."""
    hints = knowledge.class_hints

    def regex(hint):
        return knowledge.compiled[f"class:{hint.device_class}:{hint.pattern}"]

    failures = []
    for hint in hints:
        for text in hint.examples.match:
            first = next((h for h in hints if regex(h).search(text)), None)
            if first is None:
                failures.append(f"{hint.device_class}: does not match {text!r}")
            elif first is not hint:
                failures.append(f"{hint.device_class}: {text!r} is taken first by {first.device_class}")
        failures += [f"{hint.device_class}: matches near miss {t!r}" for t in hint.examples.no_match if regex(hint).search(t)]
    assert not failures, "\n".join(failures)


def test_every_oui_registrant_rule_matches_its_examples_and_none_of_its_near_misses(knowledge: Knowledge) -> None:
    failures = []
    for registrant in knowledge.oui.registrants:
        regex = knowledge.compiled[f"oui:{registrant.pattern}"]
        failures += [f"{registrant.pattern}: does not match {t!r}" for t in registrant.examples.match if not regex.search(t)]
        failures += [f"{registrant.pattern}: matches near miss {t!r}" for t in registrant.examples.no_match
                     if regex.search(t)]
    assert not failures, "\n".join(failures)


def _ieee_registrant_names() -> set[str] | None:
    """Registrant names of the MA-L table shipped by aiooui, read from its documented data layout."""
    aiooui = pytest.importorskip("aiooui")
    data = pathlib.Path(aiooui.__file__).with_name("oui.data").read_bytes()
    magic, count = struct.unpack_from("<4sI", data, 0)
    if magic != b"OUI1":
        return None
    offsets = struct.unpack_from(f"<{count}I", data, 8 + 4 * count)
    blob = 8 + 8 * count
    return {data[blob + o : data.index(b"\n", blob + o)].decode() for o in offsets}


def test_oui_examples_are_spelled_as_the_ieee_table_spells_them(knowledge: Knowledge) -> None:
    names = _ieee_registrant_names()
    if names is None:
        pytest.skip("aiooui data layout changed; cannot list registrant names")
    names |= {b.registrant for b in knowledge.oui.blocks}  # MA-M/MA-S registrants, as their blocks spell them
    missing = [f"{r.pattern}: {t!r}" for r in knowledge.oui.registrants for t in r.examples.match if t not in names]
    assert not missing, "not registrant names in the IEEE MA-L table or the listed blocks:\n" + "\n".join(missing)


def test_oui_blocks_do_not_fall_to_a_lookalike_registrant(knowledge: Knowledge) -> None:
    scale_factory = [b for b in knowledge.oui.blocks if "Scale Factory" in b.registrant]
    assert scale_factory, "the Shanghai Dahua Scale Factory block must stay listed as a known false friend"
    for block in scale_factory:
        claimed = [r.company for r in knowledge.oui.registrants if knowledge.compiled[f"oui:{r.pattern}"].search(block.registrant)]
        assert not claimed, f"{block.prefix} {block.registrant} is claimed by {claimed}"


# --------------------------------------------------------------------------- (c) no rule steals another's example


def test_no_brand_independent_pattern_of_another_group_steals_an_example(knowledge: Knowledge) -> None:
    failures = []
    for pattern in knowledge.patterns:
        for other in knowledge.patterns:
            if other is pattern or other.field != pattern.field or other.brands:
                continue
            if knowledge.same_group(pattern.producer, other.producer):
                continue
            regex = knowledge.compiled[f"pattern:{other.id}"]
            failures += [f"{other.id} ({other.producer}) also matches {t!r} of {pattern.id} ({pattern.producer})"
                         for t in pattern.examples.match if regex.search(_pattern_value(pattern, t))]
    assert not failures, "\n".join(failures)


def test_no_fingerprint_of_another_group_steals_an_example(knowledge: Knowledge) -> None:
    failures = []
    attributed = [f for f in knowledge.fingerprints if f.producer]
    for fingerprint in attributed:
        for other in attributed:
            if other is fingerprint or knowledge.same_group(fingerprint.producer, other.producer):
                continue
            if not any(_fingerprint_applies(other, signal) for signal in fingerprint.signals):
                continue
            regex = knowledge.compiled[f"fingerprint:{other.id}"]
            failures += [f"{other.id} ({other.producer}) also matches {t!r} of {fingerprint.id}"
                         for t in fingerprint.examples.match if regex.search(t)]
    assert not failures, "\n".join(failures)


def test_no_oui_rule_of_another_group_claims_a_registrant(knowledge: Knowledge) -> None:
    failures = []
    registrants = knowledge.oui.registrants
    for registrant in registrants:
        for other in registrants:
            if other is registrant or knowledge.same_group(registrant.company, other.company):
                continue
            regex = knowledge.compiled[f"oui:{other.pattern}"]
            failures += [f"{other.pattern} ({other.company}) also matches {t!r} of {registrant.company}"
                         for t in registrant.examples.match if regex.search(t)]
    assert not failures, "\n".join(failures)


def test_ambiguous_ipc_prefix_only_counts_with_a_brand(knowledge: Knowledge) -> None:
    """`IPC-B…`/`IPC-T…`/`IPC-A…` are shared by HiLook, Uniview, Uniarch and Imou: they need the badge."""
    for model in ("IPC-B140H", "IPC-B112-PF28", "IPC-A22EP"):
        independent = [p.id for p in knowledge.patterns if p.field == "model" and not p.brands
                       and knowledge.compiled[f"pattern:{p.id}"].search(model)]
        assert not independent, f"{model} is claimed without brand context by {independent}"


def test_limited_patterns_name_known_brands(knowledge: Knowledge) -> None:
    names = {brand.name for brand in knowledge.brands}
    unknown = [(p.id, b) for p in knowledge.patterns for b in p.brands if b not in names]
    labels = [(p.id, p.label_brand) for p in knowledge.patterns if p.label_brand and p.label_brand not in names]
    labels += [(f.id, f.label_brand) for f in knowledge.fingerprints if f.label_brand and f.label_brand not in names]
    assert not unknown and not labels, f"brands not in brands.yaml: {unknown + labels}"


# --------------------------------------------------------------------------- (d) coverage and provenance


def test_every_company_has_a_source_and_a_check_date(knowledge: Knowledge) -> None:
    for company in knowledge.companies.values():
        assert company.source and all(s.strip() for s in company.source), company.id
        assert company.as_of, company.id
        for owner in company.owners:
            assert owner.source and owner.as_of, f"{company.id} -> {owner.owner}"


def test_knowledge_covers_enough_companies_and_brands(knowledge: Knowledge) -> None:
    assert len(knowledge.companies) >= 70
    assert len(knowledge.brands) >= 40


def test_every_research_entity_is_kept(knowledge: Knowledge) -> None:
    assert len(RESEARCH_ENTITY_IDS) == 53
    missing = sorted(set(RESEARCH_ENTITY_IDS) - set(knowledge.companies))
    assert not missing, missing


def test_every_brand_has_at_least_two_examples(knowledge: Knowledge) -> None:
    thin = [brand.name for brand in knowledge.brands if len(brand.examples) < 2]
    assert not thin, thin


def test_brand_examples_name_the_brand_they_belong_to(knowledge: Knowledge) -> None:
    """Example text must fold to one of the brand's own keys, so the example tests the alias table."""
    failures = []
    for brand in knowledge.brands:
        keys = {name_key(text) for text in (brand.name, *brand.aliases)}
        failures += [f"{brand.name}: {e.text!r}" for e in brand.examples
                     if name_key(e.text) not in keys and knowledge.brand_by_key.get(name_key(e.text)) is not brand]
    assert not failures, "\n".join(failures)


def test_lorex_producer_follows_the_dahua_ownership_window(knowledge: Knowledge) -> None:
    from datetime import date

    lorex = next(b for b in knowledge.brands if b.name == "Lorex")

    def producers(when):  # the brand's general entries; model-specific ones hold for their models at any date
        return {p.producer for p in lorex.producers if p.valid_at(when) and not p.models}

    assert producers(date(2020, 6, 1)) == {"dahua"}
    assert producers(date(2016, 1, 1)) == {"lorex"}
    assert producers(date(2023, 1, 1)) == {"lorex"}
    assert knowledge.group_of("lorex", date(2020, 6, 1)) == "dahua"
    assert knowledge.group_of("lorex", date(2023, 1, 1)) == "skywatch"


def test_ownership_over_time_is_recorded_for_divested_companies(knowledge: Knowledge) -> None:
    from datetime import date

    assert knowledge.group_of("luminys", date(2023, 6, 1)) == "dahua"
    assert knowledge.group_of("luminys", date(2024, 6, 1)) != "dahua"
    assert knowledge.group_of("march_networks", date(2015, 1, 1)) == "infinova"
    assert knowledge.group_of("march_networks", date(2020, 1, 1)) == "delta_electronics"
    for subsidiary in ("ezviz", "hikvision_uk", "pyronix", "hikmicro"):
        assert knowledge.same_group(subsidiary, "hikvision"), subsidiary
    assert knowledge.same_group("imou", "dahua") and knowledge.same_group("sepura", "hytera")


def test_review_flags_are_recorded(knowledge: Knowledge) -> None:
    assert [f.basis for f in knowledge.company("tplink_systems").nil_flags] == ["CLAIMED_SEPARATION"]
    assert [f.basis for f in knowledge.company("lorex").nil_flags] == ["PRC_COMPONENT_ONLY"]


def test_designation_windows_match_the_research(knowledge: Knowledge) -> None:
    def window(entity, program):
        (d,) = [d for d in knowledge.designations if d.entity == entity and d.program == program]
        return str(d.valid_from), str(d.valid_to) if d.valid_to else None

    assert window("megvii", "US-DOD-1260H") == ("2024-01-31", "2025-01-07")
    assert window("zte", "US-BIS-EL") == ("2016-03-08", "2017-03-29")
    assert window("tiandy", "US-BIS-EL") == ("2022-12-15", None)
    assert window("uniview", "US-BIS-EL") == ("2024-12-10", None)
    assert window("hikvision_canada", "CA-ICA-ORDER") == ("2025-06-27", None)
    assert window("hikvision", "US-FCC-COVERED") == ("2021-03-12", None)
    assert set(knowledge.programs) >= {"US-NDAA889", "US-FCC-COVERED", "US-DOD-1260H", "US-BIS-EL", "US-NS-CMIC",
                                       "CA-ICA-ORDER", "UK-DEBARMENT-LIST"}


def test_tp_link_producers_are_dated_without_a_gap_or_overlap(knowledge: Knowledge) -> None:
    from datetime import date

    for name in ("TP-Link", "Tapo", "VIGI"):
        brand = next(b for b in knowledge.brands if b.name == name)

        def producers(when, brand=brand):
            return {p.producer for p in brand.producers if p.valid_at(when) and not p.models}

        assert producers(date(2022, 6, 1)) == {"tplink_cn"}, name
        assert producers(date(2024, 9, 30)) == {"tplink_cn"}, name
        assert producers(date(2024, 10, 1)) == {"tplink_systems"}, name
    flag = knowledge.company("tplink_systems").nil_flags[0]
    assert flag.basis == "CLAIMED_SEPARATION" and flag.valid_from is None  # contested at every date


def test_contested_badges_say_what_to_check(knowledge: Knowledge) -> None:
    contested = {b.name: b.contested for b in knowledge.brands if b.contested}
    assert set(contested) >= {"Honeywell", "Luminys"}
    assert all("check" in text.casefold() for text in contested.values()), contested
    for company in ("luminys", "wyze"):
        assert any("check" in f.note.casefold() for f in knowledge.company(company).nil_flags), company


def test_every_lineage_has_a_source_and_stays_on_one_side_of_the_prc_boundary(knowledge: Knowledge) -> None:
    links = [(c.id, link) for c in knowledge.companies.values() for link in c.lineage]
    assert ("i_pro", "panasonic") in {(c, link.of) for c, link in links}
    for company, link in links:
        assert link.source and link.as_of, company


# --------------------------------------------------------------------------- (e) broken files fail in one line


def _copy_data(tmp_path: pathlib.Path) -> pathlib.Path:
    target = tmp_path / "knowledge"
    target.mkdir()
    for name in FILES:
        shutil.copy(DATA_DIR / name, target / name)
    return target


def _edit(directory: pathlib.Path, name: str, change: Callable[[Any], None]) -> None:
    path = directory / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _entry(items: list[dict], key: str, value: str) -> dict:
    return next(item for item in items if item.get(key) == value)


def _bad_pattern_regex(data):
    _entry(data, "id", "hikvision-ip-camera")["pattern"] = "^DS-(2CD"


def _bad_fingerprint_regex(data):
    _entry(data, "id", "dahua-rtsp-server")["pattern"] = "Dahua [Rtsp"


def _bad_oui_regex(data):
    data["registrants"][0]["pattern"] = "Hik(vision"


def _unknown_brand_producer(data):
    _entry(data, "name", "Hikvision")["producers"][0]["producer"] = "no_such_company"


def _unknown_pattern_producer(data):
    _entry(data, "id", "tiandy-nvr")["producer"] = "no_such_company"


def _unknown_designation_entity(data):
    data["designations"][0]["entity"] = "no_such_company"


def _duplicate_alias(data):
    _entry(data, "name", "Dahua")["aliases"].append("Hik-Vision Ltd")


def _owner_window_reversed(data):
    owner = _entry(data, "id", "lorex")["owners"][0]
    owner["valid_from"], owner["valid_to"] = "2022-11-24", "2018-02-06"


def _designation_window_reversed(data):
    _entry(data["designations"], "entity", "megvii")["valid_to"] = "2020-01-01"


def _company_without_source(data):
    del _entry(data, "id", "tiandy")["source"]


def _fingerprint_without_source(data):
    del _entry(data, "id", "hikvision-app-webs")["source"]


def _capture_for_unknown_example(data):
    _entry(data, "id", "hikvision-serial")["examples"]["captures"]["NOT-AN-EXAMPLE"] = {"model": "X"}


def _lineage_across_the_prc_boundary(data):
    _entry(data, "id", "luminys")["lineage"] = [
        {"kind": "spin_off", "of": "dahua", "since": "2024-01-03", "source": "https://example.org", "as_of": "2026-12-03"}]


def _lineage_to_unknown_company(data):
    _entry(data, "id", "i_pro")["lineage"][0]["of"] = "no_such_company"


def _misspelt_fingerprint_signal(data):
    _entry(data, "id", "dahua-rtsp-server")["signals"] = ["rtsp_sever"]


def _unknown_device_class_in_a_pattern(data):
    _entry(data, "id", "tiandy-nvr")["device_class"] = "nvrr"


BROKEN = [
    # The vocabularies: a misspelt signal or device class would load and then never match anything.
    ("misspelt fingerprint signal", "fingerprints.yaml", _misspelt_fingerprint_signal,
     ["dahua-rtsp-server", "signals", "rtsp_server"]),
    ("unknown device class", "patterns.yaml", _unknown_device_class_in_a_pattern,
     ["tiandy-nvr", "device_class", "nvrr"]),
    ("bad regex in a pattern", "patterns.yaml", _bad_pattern_regex, ["hikvision-ip-camera", "regular expression"]),
    ("bad regex in a fingerprint", "fingerprints.yaml", _bad_fingerprint_regex, ["dahua-rtsp-server", "regular expression"]),
    ("bad regex in an OUI rule", "oui.yaml", _bad_oui_regex, ["Hik(vision", "regular expression"]),
    ("unknown company as brand producer", "brands.yaml", _unknown_brand_producer, ["Hikvision", "no_such_company"]),
    ("unknown company as pattern producer", "patterns.yaml", _unknown_pattern_producer, ["tiandy-nvr", "no_such_company"]),
    ("unknown company designated", "designations.yaml", _unknown_designation_entity, ["no_such_company"]),
    ("alias shared by two brands", "brands.yaml", _duplicate_alias, ["Dahua", "Hik-Vision Ltd", "Hikvision"]),
    ("ownership ends before it starts", "companies.yaml", _owner_window_reversed, ["lorex", "valid_to"]),
    ("designation ends before it starts", "designations.yaml", _designation_window_reversed, ["megvii", "valid_to"]),
    ("company without a source", "companies.yaml", _company_without_source, ["tiandy", "source"]),
    ("fingerprint without a source", "fingerprints.yaml", _fingerprint_without_source, ["hikvision-app-webs", "source"]),
    ("capture for a text that is not an example", "patterns.yaml", _capture_for_unknown_example,
     ["hikvision-serial", "NOT-AN-EXAMPLE"]),
    # A change of control across the PRC boundary changes the NIL determination: it must be dated ownership.
    ("lineage across the PRC boundary", "companies.yaml", _lineage_across_the_prc_boundary,
     ["luminys", "PRC boundary", "ownership"]),
    ("lineage to an unknown company", "companies.yaml", _lineage_to_unknown_company, ["i_pro", "no_such_company"]),
]


@pytest.mark.parametrize(("file", "change", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_copy_fails_with_one_line_naming_file_and_entry(tmp_path, file, change, expected) -> None:
    directory = _copy_data(tmp_path)
    load_knowledge(directory)  # the untouched copy is fine
    _edit(directory, file, change)
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(directory)
    message = str(caught.value)
    assert "\n" not in message, message
    assert message.startswith(f"{file}:"), message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_missing_file_is_named(tmp_path) -> None:
    directory = _copy_data(tmp_path)
    (directory / "oui.yaml").unlink()
    with pytest.raises(KnowledgeError, match=r"^oui\.yaml: file is missing$"):
        load_knowledge(directory)
