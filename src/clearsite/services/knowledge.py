"""The knowledge base shipped in the package: load it, check it, ask it about one item."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from clearsite.core import contracts
from clearsite.core.errors import UsageError
from clearsite.core.identify import register_evidence
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Evidence, Signal
from clearsite.formats.knowledge import knowledge_in_use, load_knowledge
from clearsite.services.devices import identify_item

__all__ = ["WATCH_SECONDS_VAR", "Knowledge", "KnowledgeWatch", "identify_one", "knowledge_summary", "load_knowledge", "short_name",
           "watch_seconds_from_environment"]

WATCH_SECONDS_VAR = "CLEARSITE_KNOWLEDGE_CHECK_SECONDS"


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


class KnowledgeWatch:
    """Notices, in a long-running process, that another knowledge base became the one in use.

    `clearsite knowledge install` verifies a bundle and then switches the knowledge home's `current`
    link to it; a server started before that would go on identifying with the old base until restarted.
    The server looks every `every` seconds (web.server); a look costs the few stat calls of resolving the link.
    """

    def __init__(self, every: float = 30.0) -> None:
        self.every = every
        self.directory = knowledge_in_use()

    def look(self) -> Knowledge | None:
        """The new base, loaded and validated, if the directory in use is another one than last time."""
        directory = knowledge_in_use()
        if directory == self.directory:
            return None
        knowledge = load_knowledge(directory)  # one that does not validate raises: the old one stays in use
        self.directory = directory
        return knowledge


def watch_seconds_from_environment() -> float:
    """How often a server looks for a newly installed knowledge base ($CLEARSITE_KNOWLEDGE_CHECK_SECONDS,
    default 30; 0: never)."""
    text = os.environ.get(WATCH_SECONDS_VAR, "30")
    try:
        every = float(text)
    except ValueError:
        every = -1.0
    if not 0 <= every <= 86_400:  # also refuses nan
        raise UsageError(f"{WATCH_SECONDS_VAR}: {text[:40]!r} is not a number of seconds from 0 to 86400")
    return every

