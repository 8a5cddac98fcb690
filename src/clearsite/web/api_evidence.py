"""GET /api/v1/evidence-packs: the signed evidence pack of a site's or a department's removals, as a zip.

The same pack `clearsite evidence-pack` writes (services.evidence_pack), so an auditor checks the
unzipped folder with `clearsite evidence-pack verify FOLDER --public-key KEY.pem` and nothing else.
Scoped by department: another department's site or department answers 404, as a missing one does.
Every download is audited. The site page's "Download evidence pack" button links here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from clearsite.services.auth import Scope
from clearsite.services.evidence_pack import evidence_pack_archive
from clearsite.web.access import Principal, needs
from clearsite.web.api import router as api_router
from clearsite.web.schemas import Problem

__all__ = ["router"]

_PROBLEMS = {401: "not authenticated", 403: "not allowed (scope or role)",
             404: "absent, or outside your departments", 409: "the department has no signing key",
             422: "invalid: give one of site_id or department"}
# The bearer scheme and the refusal of unknown query parameters, as on every /api/v1 route.
router = APIRouter(prefix="/api/v1", dependencies=api_router.dependencies,
                   responses={code: {"model": Problem, "description": text} for code, text in _PROBLEMS.items()},
                   tags=["proof of removal"])
Reader = Annotated[Principal, Depends(needs(Scope.READ))]


@router.get("/evidence-packs", response_class=Response,
            responses={200: {"content": {"application/zip": {}}, "description": "the signed pack, zipped"}})
def evidence_pack(request: Request, principal: Reader,
                  site_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
                  department: Annotated[str | None, Query(min_length=1, max_length=200)] = None) -> Response:
    """The signed evidence pack of one site (`site_id`) or one department (`department`), as a zip."""
    pack = evidence_pack_archive(request.app.state.engine, principal.actor, principal.sites, site_id=site_id,
                                 department=department)
    return Response(pack.data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{pack.filename}"',
                             "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
