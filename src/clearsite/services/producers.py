"""A producer as its knowledge page shows it: who it is, who owns it, whether it is subject to the PRC
National Intelligence Law today and why, the badges it makes, its designations, and every source."""

from __future__ import annotations

from datetime import date
from typing import Any

from clearsite.core.assess.nil import determine
from clearsite.core.errors import NotFoundError
from clearsite.core.knowledge import Knowledge
from clearsite.core.plain import basis_title

__all__ = ["producer_profile"]


def _sources(fact: Any) -> list[str]:
    return list(getattr(fact, "source", []) or [])


def producer_profile(knowledge: Knowledge, company_id: str, as_of: date) -> dict[str, Any]:
    """The producer's page data (NotFoundError when the knowledge base does not know it)."""
    company = knowledge.companies.get(company_id)
    if company is None:
        raise NotFoundError("no such producer in the knowledge base")
    determination = determine(company_id, as_of, knowledge)
    owners = [{"owner": o.owner, "owner_name": knowledge.companies[o.owner].name if o.owner in knowledge.companies
               else o.owner, "share_pct": o.share_pct, "controlling": o.controlling, "valid_from": o.valid_from,
               "valid_to": o.valid_to, "note": o.note, "sources": _sources(o), "as_of": o.as_of}
              for o in company.owners]
    brands = [{"name": b.name, "aliases": list(b.aliases), "contested": b.contested, "sources": _sources(b),
               "as_of": b.as_of, "owner": b.owner}
              for b in knowledge.brands if b.owner == company_id or any(p.producer == company_id for p in b.producers)]
    designations = [{"program": d.program, "valid_from": d.valid_from, "valid_to": d.valid_to, "note": d.note,
                     "sources": _sources(d), "as_of": d.as_of}
                    for d in knowledge.designations if d.entity == company_id]
    owned = [{"id": c.id, "name": c.name} for c in knowledge.companies.values()
             if any(o.owner == company_id for o in c.owners)]
    return {
        "id": company.id, "name": company.name, "native_name": company.native_name, "aliases": list(company.aliases),
        "incorporated_in": company.incorporated_in, "hq_in": company.hq_in,
        "state_ownership": company.state_ownership.value, "state_ownership_note": company.state_ownership_note,
        "nil_subject": determination.result.value, "nil_basis": determination.basis,
        "nil_basis_title": basis_title(determination.basis), "nil_reasons": list(determination.reasons),
        "owners": owners, "owns": sorted(owned, key=lambda c: c["name"]), "brands": brands,
        "designations": designations, "note": company.note, "sources": _sources(company), "as_of": company.as_of,
        "lineage": [{"kind": item.kind.replace("_", " "), "of": item.of, "since": item.since, "note": item.note,
                     "sources": _sources(item)} for item in company.lineage],
    }
