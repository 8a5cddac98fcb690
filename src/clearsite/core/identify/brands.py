"""Brand text as people write it → a known brand, allowing for case, punctuation, suffixes and typos."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from clearsite.core.knowledge import Knowledge
from clearsite.core.knowledge.schema import Brand, BrandProducer
from clearsite.core.names import name_key, name_words

# Words that are never a brand on their own, so a description like "IP camera" finds nothing.
_NOT_BRANDS = frozenset(["camera", "cam", "cctv", "dome", "bullet", "ptz", "nvr", "dvr", "ip", "turret", "the", "and", "with", "for"])


@dataclass(frozen=True, slots=True)
class BrandMatch:
    brand: Brand
    exact: bool
    read_as: str  # the key the text matched


def _max_typos(key: str) -> int:
    """How many edits a typed name may carry and still be read as a brand."""
    if len(key) < 5:
        return 0
    return 1 if len(key) < 8 else 2


def resolve_brand(text: str, knowledge: Knowledge) -> BrandMatch | None:
    return _resolve(text, knowledge)


@lru_cache(maxsize=65536)
def _resolve(text: str, knowledge: Knowledge) -> BrandMatch | None:
    key = name_key(text)
    if not key:
        return None
    brand = knowledge.brand_by_key.get(key)
    if brand is not None:
        return BrandMatch(brand, True, key)
    # "HiLook by Hikvision", "Hikvision UK": try the words one and two at a time, first one wins.
    words = name_words(text)
    if len(words) > 1:
        for size in (2, 1):
            for start in range(len(words) - size + 1):
                part = "".join(words[start : start + size])
                if part in _NOT_BRANDS:
                    continue
                brand = knowledge.brand_by_key.get(part)
                if brand is not None:
                    return BrandMatch(brand, True, part)
    limit = _max_typos(key)
    if limit:
        hit = process.extractOne(
            key, _keys_by_initial(knowledge).get(key[0], ()), scorer=OSA.distance, score_cutoff=limit
        )
        if hit is not None:
            return BrandMatch(knowledge.brand_by_key[hit[0]], False, hit[0])
    return None


@lru_cache(maxsize=4)
def _keys_by_initial(knowledge: Knowledge) -> dict[str, tuple[str, ...]]:
    """Fuzzy candidates share the first letter: people misspell the middle of a name, not its start."""
    groups: dict[str, list[str]] = {}
    for key in knowledge.brand_by_key:
        if len(key) >= 5:
            groups.setdefault(key[0], []).append(key)
    return {initial: tuple(keys) for initial, keys in groups.items()}


def find_brand_in_text(text: str, knowledge: Knowledge) -> BrandMatch | None:
    """A brand named anywhere in free text (a description), exact words only."""
    words = [w for w in name_words(text) if w not in _NOT_BRANDS]
    for size in (2, 1):
        for start in range(len(words) - size + 1):
            part = "".join(words[start : start + size])
            if len(part) < 3:
                continue
            brand = knowledge.brand_by_key.get(part)
            if brand is not None and not (brand.common_word and size == 1):  # "ring road" is not Ring
                return BrandMatch(brand, True, part)
    return None


def producers_for(
    brand: Brand, model: str | None, when: date | None, knowledge: Knowledge
) -> tuple[list[BrandProducer], bool]:
    """The brand's producers that fit this model and date; True when an unknown date left it open."""
    fitting: list[BrandProducer] = []
    for producer in brand.producers:
        if producer.models and (
            not model or not any(knowledge.compiled[f"brandmodel:{m}"].search(model) for m in producer.models)
        ):
            continue
        if not producer.valid_at(when):
            continue
        fitting.append(producer)
    # Model-specific entries beat the brand's general ones.
    specific = [p for p in fitting if p.models]
    best: dict[str, BrandProducer] = {}
    for p in specific or fitting:  # one entry per producer: the most confident window
        if p.producer not in best or p.confidence > best[p.producer].confidence:
            best[p.producer] = p
    chosen = list(best.values())
    dated = any(p.valid_from or p.valid_to for p in chosen)
    open_by_date = when is None and len(chosen) > 1 and dated
    return chosen, open_by_date
