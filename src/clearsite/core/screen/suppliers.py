"""Supplier names as quotes write them → a company in the knowledge base, when one is meant.

Suppliers are mostly resellers the knowledge base has never heard of, so matching is strict: the
whole name (legal tails such as "Ltd" ignored) must be a company's name or alias, or a brand its
owner sells under. A name that merely contains a known company ("Hikvision UK & Ireland Partner
Shop") is reported as a possible match for a person to confirm, never used as a firm one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from clearsite.core.knowledge import Knowledge
from clearsite.core.names import name_key, name_words

_PLACEHOLDER_OWNERS = frozenset({"unattributed_brand_owner"})


@dataclass(frozen=True, slots=True)
class SupplierMatch:
    company_id: str
    exact: bool  # False: the name only contains the company's name


def match_supplier(text: str, knowledge: Knowledge) -> SupplierMatch | None:
    return _match(text, knowledge)


@lru_cache(maxsize=16384)
def _match(text: str, knowledge: Knowledge) -> SupplierMatch | None:
    key = name_key(text)
    if not key:
        return None
    index = _index(knowledge)
    company = index.get(key)
    if company is not None:
        return SupplierMatch(company, True)
    words = name_words(text)
    for size in (3, 2, 1):  # longest part first: "Dahua Technology UK" before "Dahua"
        for start in range(len(words) - size + 1):
            part = "".join(words[start:start + size])
            if len(part) >= 4 and part in index:
                return SupplierMatch(index[part], False)
    return None


@lru_cache(maxsize=8)
def _index(knowledge: Knowledge) -> dict[str, str]:
    """Name key → company id; a company's own names win over brand names."""
    index: dict[str, str] = {}
    for brand in knowledge.brands:
        if brand.owner in _PLACEHOLDER_OWNERS:
            continue
        for text in (brand.name, *brand.aliases):
            index.setdefault(name_key(text), brand.owner)
    for company in knowledge.companies.values():
        if company.id in _PLACEHOLDER_OWNERS:
            continue
        for text in (company.name, company.native_name or "", *company.aliases):
            key = name_key(text)
            if key:
                index[key] = company.id
    return index
