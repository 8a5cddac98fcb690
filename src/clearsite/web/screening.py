"""Procurement screening from the web: `services.screening` (the same screening as `clearsite screen`),
with the site and the attestations on record remembered briefly so a screening request needs no query.
The screening rules and file readers load with the first screening: a server worker that only takes
agents' pushes never needs them (issue 13, worker memory).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException
from sqlalchemy import Engine

from clearsite.core.errors import NotFoundError
from clearsite.core.knowledge import Knowledge
from clearsite.core.models import Site
from clearsite.services import estate
from clearsite.services.parse_worker import ParseGate, UploadsBusy
from clearsite.web import cache
from clearsite.web.access import Principal
from clearsite.web.schemas import QuoteLineIn
from clearsite.web.settings import Settings

if TYPE_CHECKING:
    from clearsite.core.screen import Attestation
    from clearsite.services.screening import ScreenResult

__all__ = ["ScreenResult", "attestations", "configure_uploads", "lines_from_api", "lines_from_file", "run", "site_for",
           "upload_gate"]


def __getattr__(name: str) -> Any:
    if name == "ScreenResult":  # named in __all__, loaded when first asked for
        from clearsite.services.screening import ScreenResult

        return ScreenResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def attestations(engine: Engine, principal: Principal) -> list[Attestation]:
    from clearsite.services.screening import held_attestations

    department = principal.user.department_id
    return cache.remembered(("attestations", id(engine), department), lambda: held_attestations(engine, department))


def site_for(engine: Engine, principal: Principal, site_id: int | None) -> Site:
    """The site to screen for (NotFoundError when it is not visible to the principal)."""
    if site_id is None:
        from clearsite.services.screening import UNNAMED_SITE

        return UNNAMED_SITE
    user = principal.user  # the scope depends on role, department and agent site: all in the key

    def load() -> Site | None:
        try:
            return estate.site_domain(estate.site(engine, principal.sites, site_id))
        except NotFoundError:
            return None

    found = cache.remembered(("site", id(engine), site_id, user.role, user.department_id, user.site_id), load)
    if found is None:
        raise NotFoundError("site not found")
    return found


def lines_from_api(items: list[QuoteLineIn]) -> list[Any]:
    from clearsite.services.screening import quote_lines

    return quote_lines([item.model_dump() for item in items])


_uploads = ParseGate()


def configure_uploads(settings: Settings) -> None:
    """How many uploads are parsed at once, and under what memory cap (create_app calls this)."""
    global _uploads  # one gate per process, shared by every app the process serves
    if (_uploads.slots, _uploads.memory_bytes) != (settings.upload_slots, settings.upload_memory_bytes):
        _uploads = ParseGate(settings.upload_slots, settings.upload_memory_bytes)


def upload_gate() -> ParseGate:
    return _uploads


def lines_from_file(data: bytes, file_name: str) -> tuple[list[Any], list[str]]:
    """Lines read from an uploaded quote file, and one message per row it could not read (QuoteError if
    none). Parsed in a worker process under a memory cap (UploadTooCostly past it); a 503 with
    Retry-After when every parsing slot is taken."""
    from clearsite.services.screening import quote_file_lines

    try:
        return _uploads.run(quote_file_lines, data, file_name, what=file_name)
    except UploadsBusy as exc:
        raise HTTPException(503, str(exc), {"Retry-After": str(exc.retry_after)}) from exc


def run(lines: list[Any], site: Site, knowledge: Knowledge, on: date, held: list[Attestation],
        problems: list[str] | None = None) -> ScreenResult:
    from clearsite.services.screening import screen_lines

    return screen_lines(lines, site, knowledge, on, held, problems or [])
