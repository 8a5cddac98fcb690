"""The knowledge base: companies, brands and relabels, patterns, fingerprints, designations, policies.

The data is YAML in the package's `knowledge/data/`; `clearsite.formats.knowledge.load_knowledge()`
reads it and `build_knowledge` here validates it into one immutable `Knowledge` with the indexes
identification and assessment need. Nothing here opens a file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from clearsite.core.errors import KnowledgeError
from clearsite.core.knowledge.schema import (
    Brand,
    Company,
    Designation,
    DesignationKnowledge,
    DeviceClassHint,
    Fingerprint,
    ModelPattern,
    OuiKnowledge,
    Ownership,
    Policy,
    Program,
)
from clearsite.core.names import name_key

FILES = (
    "companies.yaml",
    "brands.yaml",
    "patterns.yaml",
    "fingerprints.yaml",
    "device_classes.yaml",
    "oui.yaml",
    "designations.yaml",
    "policies.yaml",
)

_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True, eq=False)  # identity hash: it is a cache key for lookups
class Knowledge:
    companies: dict[str, Company]
    brands: tuple[Brand, ...]
    patterns: tuple[ModelPattern, ...]
    fingerprints: tuple[Fingerprint, ...]
    class_hints: tuple[DeviceClassHint, ...]
    oui: OuiKnowledge
    programs: dict[str, Program]
    designations: tuple[Designation, ...]
    policies: dict[str, Policy]
    version: str
    brand_by_key: dict[str, Brand] = field(repr=False)
    compiled: dict[str, re.Pattern[str]] = field(repr=False)
    # The IEEE MA-L registry (12 hex digits -> registrant), handed in by whoever loads the data:
    # the core opens no file. Without one, only the knowledge base's own MA-M/MA-S blocks are known.
    ieee_registrant: Callable[[str], str | None] = field(default=lambda digits: None, repr=False)

    def company(self, company_id: str) -> Company:
        return self.companies[company_id]

    def owners_at(self, company_id: str, when: date | None) -> list[Ownership]:
        """Owners at a date; with no date, the owners today (those whose ownership has not ended)."""
        owners = self.companies[company_id].owners
        if when is None:
            return [o for o in owners if o.valid_to is None]
        return [o for o in owners if o.valid_at(when)]

    def controllers(self, company_id: str, when: date | None) -> list[str]:
        """The chain of controlling owners above a company at a date, nearest first."""
        chain: list[str] = []
        current = company_id
        while True:
            parents = [o.owner for o in self.owners_at(current, when) if o.controlling]
            if not parents or parents[0] in chain or parents[0] == company_id:
                return chain
            current = parents[0]
            chain.append(current)

    def group_of(self, company_id: str, when: date | None = None) -> str:
        """The top controlling company of a producer's group at a date (itself when independent), followed
        back through lineage links, so a spun-off business and its origin count as one line of products."""
        chain = self.controllers(company_id, when)
        return self.lineage_root(chain[-1] if chain else company_id)

    def lineage_root(self, company_id: str) -> str:
        """The earliest company whose business this one continues (itself when it has no lineage)."""
        seen = {company_id}
        current = company_id
        while True:
            origins = [link.of for link in self.companies[current].lineage if link.of not in seen]
            if not origins:
                return current
            current = origins[0]
            seen.add(current)

    def same_group(self, a: str, b: str, when: date | None = None) -> bool:
        if a == b:
            return True
        chain_a = {a, *self.controllers(a, when)}
        chain_b = {b, *self.controllers(b, when)}
        return bool(chain_a & chain_b) or self.group_of(a, when) == self.group_of(b, when)


def _entry_label(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for key in ("id", "name", "entity", "pattern", "prefix"):
            if key in item:
                return f"entry {index + 1} ({key}={item[key]!s})"
    return f"entry {index + 1}"


def _validate_list(file: str, items: Any, model: type[_M]) -> list[_M]:
    if not isinstance(items, list):
        raise KnowledgeError(f"{file}: expected a list of entries")
    out: list[_M] = []
    for index, item in enumerate(items):
        try:
            out.append(model.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(entry)"
            raise KnowledgeError(f"{file}: {_entry_label(item, index)}: {where}: {first['msg']}") from exc
    return out


def _validate_one(file: str, data: Any, model: type[_M]) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first["loc"]
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(data, dict):
            entry = data.get(loc[0], [])[loc[1]]
            where = f"{loc[0]} {_entry_label(entry, loc[1])}: " + ".".join(str(p) for p in loc[2:])
        raise KnowledgeError(f"{file}: {where}: {first['msg']}") from exc


def _unique(file: str, what: str, values: Iterable[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise KnowledgeError(f"{file}: duplicate {what} {value!r}")
        seen.add(value)


def _need(file: str, where: str, company_id: str | None, companies: dict[str, Company]) -> None:
    if company_id is not None and company_id not in companies:
        raise KnowledgeError(f"{file}: {where}: unknown company id {company_id!r}")


def _prc(company: Company) -> bool:
    return "CN" in (company.incorporated_in, company.hq_in)


def _cross_check(k: Knowledge) -> None:
    companies = k.companies
    for company in companies.values():
        for owner in company.owners:
            _need("companies.yaml", f"{company.id}: owners", owner.owner, companies)
    for brand in k.brands:
        _need("brands.yaml", f"{brand.name}: owner", brand.owner, companies)
        for producer in brand.producers:
            _need("brands.yaml", f"{brand.name}: producers", producer.producer, companies)
        for example in brand.examples:
            _need("brands.yaml", f"{brand.name}: examples", example.producer, companies)
    for pattern in k.patterns:
        _need("patterns.yaml", pattern.id, pattern.producer, companies)
    for fp in k.fingerprints:
        _need("fingerprints.yaml", fp.id, fp.producer, companies)
    for registrant in k.oui.registrants:
        _need("oui.yaml", registrant.pattern, registrant.company, companies)
    for designation in k.designations:
        _need("designations.yaml", f"{designation.entity}/{designation.program}", designation.entity, companies)
        if designation.program not in k.programs:
            raise KnowledgeError(
                f"designations.yaml: {designation.entity}: unknown program {designation.program!r}"
            )
    for policy in k.policies.values():
        for program in policy.subject_test.programs:
            if program not in k.programs:
                raise KnowledgeError(f"policies.yaml: {policy.id}: unknown program {program!r}")
        for entity in policy.subject_test.entities:
            _need("policies.yaml", policy.id, entity, companies)
        _unique("policies.yaml", f"obligation id in {policy.id}", (o.id for o in policy.obligations))
    for company in companies.values():
        for link in company.lineage:
            _need("companies.yaml", f"{company.id}: lineage", link.of, companies)
            if _prc(company) != _prc(companies[link.of]):
                raise KnowledgeError(
                    f"companies.yaml: {company.id}: lineage from {link.of!r} crosses the PRC boundary; "
                    "record it as dated ownership instead")
    for company in companies.values():  # ownership must not loop at any date it is stated for
        for owner in company.owners:
            if company.id in k.controllers(owner.owner, owner.valid_from):
                raise KnowledgeError(f"companies.yaml: {company.id}: ownership loop through {owner.owner!r}")


def build_knowledge(raw: Mapping[str, Any], version: str,
                    ieee_registrant: Callable[[str], str | None] | None = None) -> Knowledge:
    """Validate and index parsed knowledge files (file name -> parsed YAML); `version` names the data;
    `ieee_registrant` looks up the IEEE MA-L registry by a MAC's 12 hex digits."""
    companies = _validate_list("companies.yaml", raw["companies.yaml"], Company)
    _unique("companies.yaml", "company id", (c.id for c in companies))
    brands = _validate_list("brands.yaml", raw["brands.yaml"], Brand)
    patterns = _validate_list("patterns.yaml", raw["patterns.yaml"], ModelPattern)
    _unique("patterns.yaml", "pattern id", (p.id for p in patterns))
    fingerprints = _validate_list("fingerprints.yaml", raw["fingerprints.yaml"], Fingerprint)
    _unique("fingerprints.yaml", "fingerprint id", (f.id for f in fingerprints))
    class_hints = _validate_list("device_classes.yaml", raw["device_classes.yaml"], DeviceClassHint)
    oui = _validate_one("oui.yaml", raw["oui.yaml"], OuiKnowledge)
    designation_data = _validate_one("designations.yaml", raw["designations.yaml"], DesignationKnowledge)
    _unique("designations.yaml", "program id", (p.id for p in designation_data.programs))
    policies = _validate_list("policies.yaml", raw["policies.yaml"], Policy)
    _unique("policies.yaml", "policy id", (p.id for p in policies))

    brand_by_key: dict[str, Brand] = {}
    for brand in brands:
        for text in (brand.name, *brand.aliases):
            key = name_key(text)
            if not key:
                raise KnowledgeError(f"brands.yaml: {brand.name}: alias {text!r} has no letters or digits")
            other = brand_by_key.get(key)
            if other is not None and other is not brand:
                raise KnowledgeError(
                    f"brands.yaml: {brand.name}: alias {text!r} is also an alias of {other.name}"
                )
            brand_by_key[key] = brand

    compiled: dict[str, re.Pattern[str]] = {}
    for pattern in patterns:
        compiled[f"pattern:{pattern.id}"] = re.compile(pattern.pattern, re.IGNORECASE)
    for fp in fingerprints:
        compiled[f"fingerprint:{fp.id}"] = re.compile(fp.pattern, re.IGNORECASE | re.DOTALL)
    for hint in class_hints:
        compiled[f"class:{hint.device_class}:{hint.pattern}"] = re.compile(hint.pattern, re.IGNORECASE)
    for registrant in oui.registrants:
        compiled[f"oui:{registrant.pattern}"] = re.compile(registrant.pattern, re.IGNORECASE)
    for brand in brands:
        for producer in brand.producers:
            for model in producer.models:
                compiled.setdefault(f"brandmodel:{model}", re.compile(model, re.IGNORECASE))

    knowledge = Knowledge(
        **({"ieee_registrant": ieee_registrant} if ieee_registrant else {}),
        companies={c.id: c for c in companies},
        brands=tuple(brands),
        patterns=tuple(patterns),
        fingerprints=tuple(fingerprints),
        class_hints=tuple(class_hints),
        oui=oui,
        programs={p.id: p for p in designation_data.programs},
        designations=tuple(designation_data.designations),
        policies={p.id: p for p in policies},
        version=version,
        brand_by_key=brand_by_key,
        compiled=compiled,
    )
    _cross_check(knowledge)
    return knowledge


# The schema's record types are re-exported: they are the types of Knowledge's fields.
__all__ = [
    "FILES",
    "Brand",
    "Company",
    "Designation",
    "DesignationKnowledge",
    "DeviceClassHint",
    "Fingerprint",
    "Knowledge",
    "KnowledgeError",
    "ModelPattern",
    "OuiKnowledge",
    "Ownership",
    "Policy",
    "Program",
    "build_knowledge",
]
