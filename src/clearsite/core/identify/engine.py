"""Evidence → identity: who made it, what badge it wears, what it is, how sure, and why.

Each piece of evidence becomes a link that supports a producer with a weight. Independent links
for the same corporate group add up (noisy-OR); links for another group are contradictions and
lower the confidence. A lone MAC prefix never reaches the confidence needed for a firm verdict.
Banners are cut into the readings fingerprints expect and, where no rule explains them, searched
for brand and company names (banners.py).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from clearsite.core.identify import oui
from clearsite.core.identify.banners import BANNER_SIGNALS, NameFound, names_in, readings
from clearsite.core.identify.brands import BrandMatch, find_brand_in_text, producers_for, resolve_brand
from clearsite.core.knowledge import Knowledge
from clearsite.core.knowledge.schema import Brand, Fingerprint, ModelPattern
from clearsite.core.models import Evidence, EvidenceLink, Identity, Signal
from clearsite.core.names import normalise_mac, normalise_model

BRAND_WEIGHT = 0.85  # a badge is good evidence of the producer behind it, scaled by the relabel's confidence
VENDOR_WEIGHT = 0.7  # a vendor name a device reports about itself
DESCRIPTION_BRAND_WEIGHT = 0.5  # a brand named somewhere in free text
# A maker's name in what a device says about itself (its Server header, certificate organisation,
# sysDescr, realm, telnet or FTP greeting) is nearly as good as its badge; an HTML title is page
# text a little further from the firmware. Relabels still apply: a brand is resolved to its producers.
BANNER_NAME_WEIGHT = {Signal.HTTP_TITLE: 0.6, Signal.BANNER: 0.65}
DEFAULT_BANNER_NAME_WEIGHT = 0.7
COMPANY_NAME_FACTOR = 0.9  # a company named outright, with no brand entry to weigh its relabels
OUI_WEIGHT = 0.45  # below the 0.5 needed for a firm verdict: an OUI names the NIC registrant, not the product
AMBIGUOUS_PATTERN_WEIGHT = 0.2  # a pattern that needs brand context, seen without it
FUZZY_FACTOR = 0.9  # a misspelt brand counts a little less than an exact one
MIN_PRODUCER_CONFIDENCE = 0.3  # below this we name no producer at all
# What a site agent pushes is said by whoever holds its token, on behalf of devices that may lie: its
# brand, vendor, model and description text counts for half (serial and MAC patterns keep their weight),
# and once the other evidence alone identifies a maker, a push naming another one is set aside and
# recorded as a contradiction (PUSHED_CLAIM) instead of changing the maker.
PUSHED_TEXT_FACTOR = 0.5
IDENTIFIED = 0.5  # what the other evidence alone must reach for a push not to change the maker
PUSHED_CLAIM = "an agent's push names "
_PUSHED_TEXT = frozenset({Signal.BRAND, Signal.VENDOR, Signal.MODEL, Signal.DESCRIPTION})
_PATTERN_SIGNALS = {Signal.MODEL: "model", Signal.SERIAL: "serial", Signal.FIRMWARE: "firmware"}


@dataclass(slots=True)
class _Tally:
    links: list[EvidenceLink] = field(default_factory=list)
    label_brands: list[tuple[str, float, str]] = field(default_factory=list)  # (brand, weight, origin)
    classes: list[tuple[str, float]] = field(default_factory=list)
    models: list[tuple[str, float]] = field(default_factory=list)
    badge: dict[str, float] = field(default_factory=dict)  # producers the badge (brand table) names

    def support(self, ev: Evidence, producer: str | None, weight: float, note: str = "") -> None:
        self.links.append(EvidenceLink(ev.signal.value, ev.value, ev.source, producer, weight, note))


def identify(evidence: Sequence[Evidence], knowledge: Knowledge, when: date | None = None) -> Identity:
    """Identify one item from all the evidence about it. `when` is its install or production date."""
    return identify_template(evidence, knowledge, when).apply(evidence)


@dataclass(frozen=True, slots=True)
class IdentityTemplate:
    """A verdict with its evidence chain written as positions in the evidence list.

    Registers repeat the same make and model thousands of times with different serials, MACs and
    row numbers; the verdict depends on those only through the patterns and registrant they hit,
    so templates are memoised on that signature and applied to each item's own evidence.
    """

    base: Identity  # the verdict, with no evidence links
    links: tuple[_LinkTemplate, ...]

    def apply(self, evidence: Sequence[Evidence]) -> Identity:
        return replace(self.base, evidence=links_from_chain(self.chain, evidence))

    @property
    def chain(self) -> list[list[object]]:
        """The chain in storable form: [index, supports, weight, note], or [-1, signal, value, source, supports,
        weight, note] for a fact the engine derived itself."""
        return [[i, supports, weight, note] if i >= 0 else
                [-1, fixed.signal, fixed.value, fixed.source, supports, weight, note]  # type: ignore[union-attr]
                for i, supports, weight, note, fixed in self.links]


def links_from_chain(chain: Sequence[Sequence[Any]], evidence: Sequence[Evidence]) -> tuple[EvidenceLink, ...]:
    """Rebuild an evidence chain from its stored form (decoded JSON) and the item's evidence list."""
    links = []
    for entry in chain:
        if entry[0] == -1:
            _, signal, value, source, supports, weight, note = entry
        else:
            ev = evidence[entry[0]]
            signal, value, source = ev.signal.value, ev.value, ev.source
            _, supports, weight, note = entry
        links.append(EvidenceLink(signal, value, source, supports, weight, note))
    return tuple(links)


def identify_template(evidence: Sequence[Evidence], knowledge: Knowledge, when: date | None = None) -> IdentityTemplate:
    key = _signature(evidence, knowledge, when)
    cache = _CACHES.setdefault(knowledge, {})
    template = cache.get(key)
    if template is None:
        template = _template(_identify_uncached(evidence, knowledge, when), evidence)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = template
    return template


_CACHE_LIMIT = 250_000
_LinkTemplate = tuple[int, "str | None", float, str, "EvidenceLink | None"]
_CACHES: WeakKeyDictionary[Knowledge, dict[tuple[object, ...], IdentityTemplate]] = WeakKeyDictionary()


def is_pushed(source: str) -> bool:
    """Is this evidence from a site agent's push? (services.imports names it "agent NAME observation ID: …")"""
    return source.startswith("agent ") and " observation " in source


def _signature(evidence: Sequence[Evidence], knowledge: Knowledge, when: date | None) -> tuple[object, ...]:
    parts: list[object] = [_date_slot(when, knowledge)]
    for ev in evidence:
        if ev.signal == Signal.SERIAL:
            parts.append((ev.signal, _serial_signature(ev.value, knowledge)))
        elif ev.signal == Signal.MAC:
            parts.append((ev.signal, _mac_signature(ev.value, knowledge)))
        else:
            parts.append((ev.signal, ev.value))
        if ev.source.startswith("agent ") and is_pushed(ev.source):  # pushed evidence weighs differently
            parts.append(_PUSHED_MARK)
    return tuple(parts)


_PUSHED_MARK = ("pushed",)


def _serial_signature(value: str, knowledge: Knowledge) -> tuple[object, ...]:
    normalised = normalise_model(value)
    if not normalised:
        return ("empty",)
    if not _any_pattern(knowledge, "serial").search(normalised):
        return ("none",)
    return tuple((p.id, m) for p, m in _matching_patterns(normalised, "serial", knowledge))


def _mac_signature(value: str, knowledge: Knowledge) -> str:
    mac = normalise_mac(value)  # returns a canonical MAC as it is, at once
    if mac is None:
        return "\x00bad"
    return _prefix_signature(mac.replace(":", "")[: _prefix_length(knowledge)], knowledge)



@lru_cache(maxsize=4)
def _prefix_length(knowledge: Knowledge) -> int:
    """Hex digits of a MAC that decide its registrant: the longest known block, at least the 24-bit MA-L."""
    return max([6, *(len(b.prefix) for b in knowledge.oui.blocks)])


@lru_cache(maxsize=65536)  # a million MACs come from a few thousand prefixes
def _prefix_signature(prefix: str, knowledge: Knowledge) -> str:
    digits = prefix.ljust(12, "0")
    mac = ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    if oui.is_locally_administered(mac):
        return "\x00local"
    return oui.registrant(mac, knowledge) or "\x00unknown"


@lru_cache(maxsize=16)
def _any_pattern(knowledge: Knowledge, field_name: str) -> re.Pattern[str]:
    """One alternation of every pattern of a field: a single C-level scan rules most values out."""
    parts = [re.sub(r"\(\?P<\w+>", "(?:", p.pattern) for p in _patterns_for(field_name, knowledge)]
    return re.compile("|".join(f"(?:{p})" for p in parts) or "(?!)", re.IGNORECASE)


@lru_cache(maxsize=4)
def _date_boundaries(knowledge: Knowledge) -> tuple[date, ...]:
    """Every date at which a relabel window or an ownership starts or ends."""
    dates: set[date] = set()
    for brand in knowledge.brands:
        for producer in brand.producers:
            dates.update(d for d in (producer.valid_from, producer.valid_to) if d)
    for company in knowledge.companies.values():
        for owner in company.owners:
            dates.update(d for d in (owner.valid_from, owner.valid_to) if d)
    return tuple(sorted(dates))


def _date_slot(when: date | None, knowledge: Knowledge) -> int:
    """Dates between the same two boundaries give the same identification."""
    return -1 if when is None else bisect_right(_date_boundaries(knowledge), when)


def _template(identity: Identity, evidence: Sequence[Evidence]) -> IdentityTemplate:
    index = {(ev.signal.value, ev.value, ev.source): i for i, ev in reversed(list(enumerate(evidence)))}
    links: list[_LinkTemplate] = []
    for link in identity.evidence:
        i = index.get((link.signal, link.value, link.source), -1)
        links.append((i, link.supports, link.weight, link.note, link if i < 0 else None))
    return IdentityTemplate(replace(identity, evidence=()), tuple(links))


def _identify_uncached(evidence: Sequence[Evidence], knowledge: Knowledge, when: date | None) -> Identity:
    tally = _Tally()
    brand_matches = _brands(evidence, knowledge, tally)
    label = brand_matches[0][1].brand.name if brand_matches else None
    model = _first_model(evidence)
    if model:
        tally.models.append((model, 1.0))

    for ev in evidence:
        field_name = _PATTERN_SIGNALS.get(ev.signal)
        if field_name:
            _patterns(ev, field_name, label, knowledge, tally)
        elif ev.signal == Signal.MAC:
            _mac(ev, knowledge, tally, when)
        elif ev.signal == Signal.OUI:
            _registrant(ev, ev.value, knowledge, tally, when)
        elif ev.signal == Signal.DESCRIPTION:
            _description_class(ev, knowledge, tally)
        if ev.signal not in (Signal.BRAND, Signal.MODEL, Signal.SERIAL, Signal.MAC, Signal.DESCRIPTION):
            _fingerprints(ev, knowledge, tally)

    if label is None and tally.label_brands:
        label = max(tally.label_brands, key=lambda b: b[1])[0]
        relabel = resolve_brand(label, knowledge)
        if relabel is not None:
            brand_matches.append((Evidence(Signal.BRAND, label, "derived from device evidence"), relabel, 0.6))
    best_model = max(tally.models, key=lambda m: m[1])[0] if tally.models else None
    if best_model and model is None and not tally.classes:
        # A model read out of a serial tells the class, but it is the same evidence: no extra support.
        tally.classes.extend((p.device_class, p.weight * 0.8) for p, _ in _matching_patterns(best_model, "model", knowledge)
                             if p.device_class and not p.brands)
    for ev, match, scale in brand_matches:
        _brand_producers(ev, match, scale, best_model, when, knowledge, tally)

    return _verdict(tally, label, best_model, when, knowledge)


def _first_model(evidence: Sequence[Evidence]) -> str | None:
    for ev in evidence:
        if ev.signal == Signal.MODEL:
            model = normalise_model(ev.value)
            if model:
                return model
    return None


def _brands(evidence: Sequence[Evidence], knowledge: Knowledge, tally: _Tally) -> list[tuple[Evidence, BrandMatch, float]]:
    """Brand text, strongest kind first: the badge, a self-reported vendor, names in banners, then free text.

    Company names in banners (with no brand entry) are tallied here directly.
    """
    found: list[tuple[Evidence, BrandMatch, float]] = []
    for signal, scale in ((Signal.BRAND, 1.0), (Signal.VENDOR, VENDOR_WEIGHT / BRAND_WEIGHT)):
        for ev in sorted((e for e in evidence if e.signal == signal), key=lambda e: is_pushed(e.source)):
            if not ev.value.strip():  # the badge a register or scan saw comes before one an agent pushed
                continue
            match = resolve_brand(ev.value, knowledge)
            if match is None:
                tally.support(ev, None, 0.0, "brand not in the knowledge base")
                continue
            found.append((ev, match, _pushed_scale(ev, scale if match.exact else scale * FUZZY_FACTOR)))
    for ev in evidence:
        for name in _banner_names(ev, knowledge):
            if name.brand is not None:
                found.append((ev, name.brand, _banner_name_weight(ev.signal) / BRAND_WEIGHT))
            elif name.company is not None:
                tally.support(ev, name.company, _banner_name_weight(ev.signal) * COMPANY_NAME_FACTOR,
                              f"names {knowledge.companies[name.company].name} ({name.words!r})")
    if not found:
        for ev in evidence:
            if ev.signal == Signal.DESCRIPTION:
                match = find_brand_in_text(ev.value, knowledge)
                if match is not None:
                    found.append((ev, match, _pushed_scale(ev, DESCRIPTION_BRAND_WEIGHT / BRAND_WEIGHT)))
                    break
    return found


def _pushed_scale(ev: Evidence, scale: float) -> float:
    """Self-asserted text from an agent's push counts for less than the same text in a register or a scan."""
    return scale * PUSHED_TEXT_FACTOR if ev.signal in _PUSHED_TEXT and is_pushed(ev.source) else scale


def _brand_producers(
    ev: Evidence, match: BrandMatch, scale: float, model: str | None, when: date | None,
    knowledge: Knowledge, tally: _Tally,
) -> None:
    brand = match.brand
    reading = "" if match.exact else f"read as {brand.name}"
    if ev.signal in BANNER_SIGNALS:
        reading = f"the banner names {brand.name}"
    producers, open_by_date = producers_for(brand, model, when, knowledge)
    if not producers:
        tally.support(ev, f"brand:{brand.name}", 0.0, _join(reading, "no producer known for this model or date"))
        return
    for producer in producers:
        note = _join(reading, f"{brand.name} products made by {producer.producer}" if producer.producer != brand.owner
                     else "")
        if producer.valid_from or producer.valid_to:
            note = _join(note, f"for products from {producer.valid_from or '…'} to {producer.valid_to or '…'}")
        weight = BRAND_WEIGHT * scale * producer.confidence
        if open_by_date:
            weight *= 0.5
            note = _join(note, "install date unknown, so the dated relabel cannot be settled")
        tally.support(ev, producer.producer, weight, note)
        tally.badge[producer.producer] = max(weight, tally.badge.get(producer.producer, 0.0))


def _patterns(ev: Evidence, field_name: str, label: str | None, knowledge: Knowledge, tally: _Tally) -> None:
    value = normalise_model(ev.value) if field_name != "firmware" else ev.value.strip()
    if not value:
        return
    matches = _matching_patterns(value, field_name, knowledge)
    if not matches:
        tally.support(ev, None, 0.0, f"no {field_name} pattern matched")
    for pattern, match_model in matches:
        if pattern.brands and (label is None or label not in pattern.brands):
            if label is None:
                tally.support(ev, pattern.producer, AMBIGUOUS_PATTERN_WEIGHT,
                              f"pattern {pattern.id} is shared by several makers; no brand to tell them apart")
            continue
        tally.support(ev, pattern.producer, _pushed_scale(ev, pattern.weight), f"pattern {pattern.id}")
        if pattern.device_class:
            tally.classes.append((pattern.device_class, pattern.weight))
        if pattern.label_brand:
            tally.label_brands.append((pattern.label_brand, pattern.weight, pattern.id))
        if match_model:
            tally.models.append((normalise_model(match_model), 0.5))


@lru_cache(maxsize=200_000)
def _matching_patterns(value: str, field_name: str, knowledge: Knowledge) -> tuple[tuple[ModelPattern, str | None], ...]:
    found = []
    for pattern in _patterns_for(field_name, knowledge):
        m = knowledge.compiled[f"pattern:{pattern.id}"].search(value)
        if m:
            found.append((pattern, m.groupdict().get("model")))
    return tuple(found)


@lru_cache(maxsize=16)
def _patterns_for(field_name: str, knowledge: Knowledge) -> tuple[ModelPattern, ...]:
    return tuple(p for p in knowledge.patterns if p.field == field_name)


def _mac(ev: Evidence, knowledge: Knowledge, tally: _Tally, when: date | None) -> None:
    mac = normalise_mac(ev.value)
    if mac is None:
        tally.support(ev, None, 0.0, "not a MAC address")
        return
    if oui.is_locally_administered(mac):
        tally.support(ev, None, 0.0, "locally administered address: says nothing about the maker")
        return
    name = oui.registrant(mac, knowledge)
    if name is None:
        tally.support(ev, None, 0.0, "prefix not in the IEEE registry")
        return
    _registrant(ev, name, knowledge, tally, when)


def _registrant(ev: Evidence, name: str, knowledge: Knowledge, tally: _Tally, when: date | None) -> None:
    company = oui.company_for_registrant(name, knowledge)
    note = f"registrant: {name}"
    if company is None:
        tally.support(ev, None, 0.0, _join(note, "not a known camera maker"))
        return
    relabelled = _relabel_of(company, when, knowledge)
    if relabelled:  # the NIC block belongs to a relabeller (Amcrest): its products are made by someone else
        for producer, confidence in relabelled:
            tally.support(ev, producer, OUI_WEIGHT * confidence,
                          _join(note, f"{knowledge.companies[company].name} sells products made by {producer}",
                                "a MAC prefix alone is not proof"))
        return
    tally.support(ev, company, OUI_WEIGHT, _join(note, "a MAC prefix alone is not proof"))


def _relabel_of(company: str, when: date | None, knowledge: Knowledge) -> list[tuple[str, float]]:
    """Producers behind the general (model-independent) brands a company owns, when it does not make them itself."""
    found: dict[str, float] = {}
    for brand in _brands_owned(knowledge).get(company, ()):
        for producer in brand.producers:
            if not producer.models and producer.valid_at(when):
                found[producer.producer] = max(found.get(producer.producer, 0.0), producer.confidence)
    if not found or company in found:
        return []
    return sorted(found.items())


@lru_cache(maxsize=4)
def _brands_owned(knowledge: Knowledge) -> dict[str, tuple[Brand, ...]]:
    owned: dict[str, list[Brand]] = {}
    for brand in knowledge.brands:
        owned.setdefault(brand.owner, []).append(brand)
    return {owner: tuple(brands) for owner, brands in owned.items()}


def _description_class(ev: Evidence, knowledge: Knowledge, tally: _Tally) -> None:
    for hint in knowledge.class_hints:
        if knowledge.compiled[f"class:{hint.device_class}:{hint.pattern}"].search(ev.value):
            tally.classes.append((hint.device_class, 0.4))
            tally.support(ev, f"class:{hint.device_class}", 0.0, "description names the kind of device")
            return
    tally.support(ev, None, 0.0, "context only")


def _fingerprints(ev: Evidence, knowledge: Knowledge, tally: _Tally) -> None:
    hits = _fingerprint_hits(ev.signal, ev.value, knowledge)
    for fp in hits:
        tally.support(ev, fp.producer, fp.weight if fp.producer else 0.0, f"fingerprint {fp.id}")
        if fp.label_brand:
            tally.label_brands.append((fp.label_brand, fp.weight, fp.id))
        if fp.device_class:
            tally.classes.append((fp.device_class, fp.weight))
    if not hits and ev.signal not in (Signal.PORT, Signal.VENDOR, Signal.OEM_CODE) and not (
            ev.signal in BANNER_SIGNALS and _banner_names(ev, knowledge)):
        tally.support(ev, None, 0.0, "no fingerprint matched")


@lru_cache(maxsize=65536)
def _fingerprint_hits(signal: Signal, value: str, knowledge: Knowledge) -> tuple[Fingerprint, ...]:
    """Every rule that matches any reading of the value (a whole header gives its realm), each once."""
    hits: dict[str, Fingerprint] = {}
    for kind, text in readings(signal, value):
        for fp in _fingerprints_for(kind.value, knowledge):
            if fp.id not in hits and knowledge.compiled[f"fingerprint:{fp.id}"].search(text):
                hits[fp.id] = fp
    return tuple(hits.values())


def _banner_names(ev: Evidence, knowledge: Knowledge) -> list[NameFound]:
    """Names in banner text that no fingerprint already explains (a rule knows its banner better)."""
    if ev.signal not in BANNER_SIGNALS or _fingerprint_hits(ev.signal, ev.value, knowledge):
        return []
    found: list[NameFound] = []
    seen: set[str] = set()
    for _, text in readings(ev.signal, ev.value):
        for name in names_in(text, knowledge):
            key = name.brand.brand.name if name.brand else str(name.company)
            if key not in seen:
                seen.add(key)
                found.append(name)
    return found


def _banner_name_weight(signal: Signal) -> float:
    return BANNER_NAME_WEIGHT.get(signal, DEFAULT_BANNER_NAME_WEIGHT)


@lru_cache(maxsize=64)
def _fingerprints_for(signal: str, knowledge: Knowledge) -> tuple[Fingerprint, ...]:
    if signal == Signal.BANNER.value:
        return knowledge.fingerprints
    return tuple(fp for fp in knowledge.fingerprints if signal in fp.signals or "banner" in fp.signals)


def _noisy_or(weights: Sequence[float]) -> float:
    miss = 1.0
    for w in weights:
        miss *= 1.0 - w
    return 1.0 - miss


def _counts(link: EvidenceLink) -> bool:
    return bool(link.supports) and link.weight > 0 and not link.supports.startswith("brand:")  # type: ignore[union-attr]


def _set_aside_pushed_rivals(tally: _Tally, when: date | None, knowledge: Knowledge) -> str | None:
    """When the evidence other than agents' pushes alone identifies a maker, pushed links naming another
    group are kept in the chain but not counted; the contradiction they make, or None."""
    trusted: dict[str, list[float]] = {}
    by_producer: dict[str, list[float]] = {}
    for link in tally.links:
        if _counts(link) and not is_pushed(link.source):
            trusted.setdefault(knowledge.group_of(link.supports, when), []).append(link.weight)  # type: ignore[arg-type]
            by_producer.setdefault(link.supports, []).append(link.weight)  # type: ignore[arg-type]
    if not trusted:
        return None
    anchor, weights = max(trusted.items(), key=lambda g: _noisy_or(g[1]))
    if _noisy_or(weights) < IDENTIFIED:
        return None
    identified = max((p for p in by_producer if knowledge.group_of(p, when) == anchor),
                     key=lambda p: _noisy_or(by_producer[p]))
    rivals: dict[str, list[float]] = {}
    for i, link in enumerate(tally.links):
        if _counts(link) and is_pushed(link.source) and knowledge.group_of(link.supports, when) != anchor:  # type: ignore[arg-type]
            rivals.setdefault(link.supports, []).append(link.weight)  # type: ignore[arg-type]
            tally.links[i] = replace(link, weight=0.0, note=_join(
                link.note, f"set aside ({link.weight:.2f}): a push does not change the maker other evidence identified"))
    if not rivals:
        return None
    named = ", ".join(f"{p} ({_noisy_or(w):.2f})" for p, w in sorted(rivals.items()))
    return f"{PUSHED_CLAIM}{named}; set aside: the other evidence identifies {identified}"


def _verdict(tally: _Tally, label: str | None, model: str | None, when: date | None, knowledge: Knowledge) -> Identity:
    pushed_claim = _set_aside_pushed_rivals(tally, when, knowledge)
    direct: dict[str, list[float]] = {}
    for link in tally.links:
        if link.supports and link.weight > 0 and not link.supports.startswith("brand:"):
            direct.setdefault(link.supports, []).append(link.weight)

    groups: dict[str, list[str]] = {}
    for producer in direct:
        groups.setdefault(knowledge.group_of(producer, when), []).append(producer)

    def group_score(members: list[str]) -> float:
        return _noisy_or([w for p in members for w in direct[p]])

    ranked = sorted(groups.items(), key=lambda g: group_score(g[1]), reverse=True)
    device_class = max(tally.classes, key=lambda c: c[1])[0] if tally.classes else "unknown"
    if not ranked:
        return Identity(label, None, model, device_class, 0.0, tuple(tally.links))

    best_root, best_members = ranked[0]
    best = group_score(best_members)
    # Within a group the badge decides which member made it (an EZVIZ badge on Hikvision firmware is
    # EZVIZ's product). Without one, evidence that points at a subsidiary (its OUI, its model line)
    # is more specific than the firmware family it shares with its parent, so the subsidiary wins.
    producer = max(best_members, key=lambda p: (tally.badge.get(p, 0.0), p != best_root, _noisy_or(direct[p])))
    contradictions: list[str] = [pushed_claim] if pushed_claim else []
    confidence = best
    for _, members in ranked[1:]:
        other = group_score(members)
        confidence *= 1.0 - 0.5 * other
        contradictions.append(
            f"evidence also points to {', '.join(sorted(members))} ({other:.2f}); confidence lowered"
        )
    alternatives = tuple((sorted(m)[0], round(group_score(m), 3)) for _, m in ranked[1:])
    if confidence < MIN_PRODUCER_CONFIDENCE:
        return Identity(label, None, model, device_class, round(confidence, 3), tuple(tally.links),
                        tuple(contradictions), ((producer, round(best, 3)), *alternatives))
    return Identity(label, producer, model, device_class, round(confidence, 3), tuple(tally.links),
                    tuple(contradictions), alternatives)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
