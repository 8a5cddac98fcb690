"""The knowledge base shipped in the package: load it, check it, ask it about one item."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from clearsite.core import contracts
from clearsite.core.errors import UsageError
from clearsite.core.identify import register_evidence
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Evidence, Signal
from clearsite.formats.knowledge import load_knowledge
from clearsite.services.devices import identify_item

__all__ = ["Knowledge", "identify_one", "knowledge_summary", "load_knowledge", "short_name"]


def knowledge_summary(directory: Path | None = None) -> str:
    """Validate the knowledge files (raising KnowledgeError naming file, entry and field) and say what they hold."""
    knowledge = load_knowledge(directory)
    return (f"knowledge {knowledge.version}: {len(knowledge.companies)} companies, {len(knowledge.brands)} brands, "
            f"{len(knowledge.patterns)} patterns, {len(knowledge.fingerprints)} fingerprints, "
            f"{len(knowledge.oui.registrants)} OUI registrants, {len(knowledge.designations)} designations, "
            f"{len(knowledge.policies)} policies: OK")


def identify_one(*, brand: str | None, model: str | None, serial: str | None, mac: str | None,
                 description: str | None, firmware: str | None, banners: list[str], installed: date | None,
                 as_of: date) -> contracts.Device:
    """Identify one item from what a person types, without the database, in the device JSON shape."""
    evidence = register_evidence("command line", brand=brand, model=model, serial=serial, mac=mac,
                                 description=description, firmware=firmware)
    evidence += [Evidence(Signal.BANNER, text, "command line --banner") for text in banners]
    if not evidence:
        raise UsageError("give at least one of --brand, --model, --serial, --mac, --description, --firmware, --banner")
    return identify_item(evidence, load_knowledge(), installed=installed, as_of=as_of, mac=mac, serial=serial)


def short_name(knowledge: Knowledge, company_id: str) -> str:
    """"Hikvision" rather than the legal name, for a table column."""
    company = knowledge.companies[company_id]
    return company.aliases[0] if company.aliases else company.name
