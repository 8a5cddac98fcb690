"""What changed between two versions of the knowledge base, item by item.

Each kind of item is keyed by what names it (a company's id, a brand's name, a designation's entity,
programme and start date); an item present in both with any field different is "changed", with the
names of the fields that differ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from clearsite.core.knowledge import Knowledge

__all__ = ["KnowledgeChange", "diff_knowledge"]


@dataclass(frozen=True, slots=True)
class KnowledgeChange:
    kind: str  # company, brand, pattern, fingerprint, device_class, oui, program, designation, policy
    key: str
    change: str  # added, removed, changed
    fields: tuple[str, ...] = ()  # for "changed": the fields that differ

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "change": self.change, "fields": list(self.fields)}


def _designation_key(d: Any) -> str:
    return f"{d.entity}/{d.program}/{d.valid_from.isoformat() if d.valid_from else '-'}"


# kind -> (the items of a Knowledge, the key naming one)
_KINDS: dict[str, tuple[Callable[[Knowledge], Iterable[Any]], Callable[[Any], str]]] = {
    "company": (lambda k: k.companies.values(), lambda c: c.id),
    "brand": (lambda k: k.brands, lambda b: b.name),
    "pattern": (lambda k: k.patterns, lambda p: p.id),
    "fingerprint": (lambda k: k.fingerprints, lambda f: f.id),
    "device_class": (lambda k: k.class_hints, lambda h: f"{h.device_class}:{h.pattern}"),
    "oui": (lambda k: k.oui.registrants, lambda r: r.pattern),
    "program": (lambda k: k.programs.values(), lambda p: p.id),
    "designation": (lambda k: k.designations, _designation_key),
    "policy": (lambda k: k.policies.values(), lambda p: p.id),
}


def _fields_that_differ(old: BaseModel, new: BaseModel) -> tuple[str, ...]:
    before, after = old.model_dump(), new.model_dump()
    return tuple(sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name)))


def _indexed(items: Iterable[Any], key: Callable[[Any], str]) -> dict[str, Any]:
    """Items by key; a key held twice (two entries for one OUI pattern) is told apart by its position."""
    found: dict[str, Any] = {}
    for item in items:
        name, n = key(item), 2
        while name in found:
            name = f"{key(item)}#{n}"
            n += 1
        found[name] = item
    return found


def diff_knowledge(old: Knowledge, new: Knowledge) -> list[KnowledgeChange]:
    """Every item added, removed or changed from `old` to `new`, by kind then key."""
    changes: list[KnowledgeChange] = []
    for kind, (items, key) in _KINDS.items():
        before, after = _indexed(items(old), key), _indexed(items(new), key)
        for name in sorted(before.keys() | after.keys()):
            if name not in after:
                changes.append(KnowledgeChange(kind, name, "removed"))
            elif name not in before:
                changes.append(KnowledgeChange(kind, name, "added"))
            elif before[name] != after[name]:
                changes.append(KnowledgeChange(kind, name, "changed", _fields_that_differ(before[name], after[name])))
    return changes
