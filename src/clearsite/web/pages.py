"""The server-rendered pages: Jinja2 with autoescape, htmx for the screening form, no inline script.

Pages read and change through the same services as the API, with the same site scope, so scoping,
CSRF and the audit log hold the same way whichever door a person uses.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader

from clearsite.core.errors import InputError, NotFoundError
from clearsite.services import estate, finding_list, inventory
from clearsite.services.audit_log import audit_entries, verify_audit_log
from clearsite.services.auth import Scope
from clearsite.services.devices import device_detail as read_device_detail
from clearsite.services.devices import device_json, devices_in_scope
from clearsite.services.planning import has_current_plan
from clearsite.services.producers import producer_profile
from clearsite.services.reconciliation import site_reconciliation
from clearsite.web import cache, screening, session, words
from clearsite.web.access import Principal, needs, read_session
from clearsite.web.schemas import SitePatch

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(needs(Scope.READ))]
Writer = Annotated[Principal, Depends(needs(Scope.WRITE))]
PAGE = 200
NO_SUCH_SITE = "No such site, or not one of your department's."
NO_SUCH_DEVICE = "No such device, or not at one of your department's sites."


def _environment() -> Environment:
    # Our templates first, then govuk-frontend-jinja's macros ({% from "govuk_frontend_jinja/components/…" %}).
    env = Environment(loader=ChoiceLoader([PackageLoader("clearsite.web", "templates"),
                                           PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja",
                                                                                               "templates")})]),
                      autoescape=True)
    env.filters.update(words.FILTERS)
    env.filters["pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)
    env.filters["pct"] = lambda value: f"{100 * value:.0f}%"
    return env


templates = Jinja2Templates(env=_environment())


def _context(request: Request, principal: Principal | None, **values: Any) -> dict[str, Any]:
    data = read_session(request)
    token = session.csrf_token(data, request.app.state.settings.secret_key) if data else ""
    show_plan = False
    if principal is not None and principal.can(Scope.READ):
        engine = request.app.state.engine
        show_plan = cache.remembered(("has_plan", id(engine)), lambda: has_current_plan(engine))
    return {"principal": principal, "csrf": token, "path": request.url.path, "show_plan": show_plan, **values}


def render(request: Request, name: str, principal: Principal | None, http_status: int = 200,
           **values: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, _context(request, principal, **values), status_code=http_status)


# --------------------------------------------------------------------------- reading


SITE_SORTS = {"name": lambda s: s["name"].lower(), "department": lambda s: (s["department"].lower(), s["name"].lower()),
              "devices": lambda s: (s["devices"], s["name"].lower()),
              "breach": lambda s: (s["findings"]["breach"], s["name"].lower()),
              "overdue": lambda s: (s["findings"]["overdue"], s["name"].lower()),
              "review": lambda s: (s["findings"]["review"], s["name"].lower())}
SITE_PAGE = 100


@router.get("/sites")
def sites(request: Request, principal: Reader, q: Annotated[str, Query(max_length=200)] = "",
          sensitivity: Annotated[str, Query(pattern="^(|sensitive|other|holds_secret|dv_hub|ministerial|socpa)$")] = "",
          sort: Annotated[str, Query(pattern="^-?(name|department|devices|breach|overdue|review)$")] = "name",
          page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> HTMLResponse:
    """Sites in scope: searched by name, department or region, filtered by sensitivity, sorted, a page at a time."""
    rows = estate.sites(request.app.state.engine, principal.sites)
    text = " ".join(q.split()).lower()
    if text:
        rows = [s for s in rows if text in f"{s['name']} {s['department']} {s['region'] or ''}".lower()]
    if sensitivity == "sensitive":
        rows = [s for s in rows if s["sensitive"]]
    elif sensitivity == "other":
        rows = [s for s in rows if not s["sensitive"]]
    elif sensitivity:
        rows = [s for s in rows if s[sensitivity]]
    rows.sort(key=SITE_SORTS[sort.lstrip("-")], reverse=sort.startswith("-"))
    shown = rows[(page - 1) * SITE_PAGE: page * SITE_PAGE]
    asked = {k: v for k, v in (("q", q), ("sensitivity", sensitivity)) if v}
    return render(request, "sites.html", principal, sites=shown, total=len(rows), statuses=estate.STATUSES,
                  asked=asked, sort=sort, page=page, pages=max(1, -(-len(rows) // SITE_PAGE)), query=_query(asked))


@router.get("/sites/{site_id}")
def site_detail(request: Request, site_id: int, principal: Reader, after: Annotated[int, Query(ge=0)] = 0,
                saved: bool = False) -> HTMLResponse:
    knowledge, as_of, engine = request.app.state.knowledge, request.app.state.settings.today(), request.app.state.engine
    try:
        site = estate.site(engine, principal.sites, site_id)
    except NotFoundError as exc:
        raise HTTPException(404, NO_SUCH_SITE) from exc
    views = devices_in_scope(engine, principal.sites, site_id=site_id, after=after, limit=PAGE, with_evidence=False)
    findings = estate.findings(engine, principal.sites, site_id, None, 0, 5000)
    reconciliation = site_reconciliation(engine, principal.sites, site_id)
    worst: dict[int, str] = {}
    for f in findings:
        if f["device_id"] not in worst or estate.STATUSES.index(f["status"]) < estate.STATUSES.index(worst[f["device_id"]]):
            worst[f["device_id"]] = f["status"]
    devices = [device_json(v, knowledge, as_of) for v in views]
    return render(request, "site.html", principal, site=site, devices=devices, worst=worst,
                  next_after=views[-1].id if len(views) == PAGE else None, reconciliation=reconciliation,
                  can_write=principal.can(Scope.WRITE), saved=saved)


@router.post("/sites/{site_id}")
def site_update(request: Request, site_id: int, principal: Writer,
                region: Annotated[str, Form(max_length=100)] = "", holds_secret: Annotated[bool, Form()] = False,
                dv_hub: Annotated[bool, Form()] = False, ministerial: Annotated[bool, Form()] = False,
                socpa: Annotated[bool, Form()] = False) -> Response:
    patch = SitePatch(region=region.strip() or None, holds_secret=holds_secret, dv_hub=dv_hub,
                      ministerial=ministerial, socpa=socpa)
    try:
        estate.update_site(request.app.state.engine, principal.actor, principal.sites, site_id, patch.changes())
    except NotFoundError as exc:
        raise HTTPException(404, NO_SUCH_SITE) from exc
    cache.forget_all()
    return RedirectResponse(f"/sites/{site_id}?saved=1", status_code=303)


# --------------------------------------------------------------------------- the inventory

INVENTORY_FIELDS = ("q", "site_id", "department_id", "sensitivity", "producer", "nil_subject", "device_class", "status",
                    "review_pending", "first_seen_from", "first_seen_to", "last_seen_from", "last_seen_to")
PAGE_SIZES = (25, 50, 100, 200)


def _inventory_request(request: Request, principal: Principal) -> tuple[dict[str, str], Any, str, bool]:
    """The filters as asked (for the form and links) and as the service reads them; InputError says what is wrong."""
    asked = {k: request.query_params.get(k, "").strip()[:200] for k in INVENTORY_FIELDS}
    asked = {k: v for k, v in asked.items() if v}
    knowledge, as_of = request.app.state.knowledge, request.app.state.settings.today()

    def number(name: str) -> int | None:
        text = asked.get(name)
        if text is None:
            return None
        if not text.isdigit() or len(text) > 18:
            raise InputError(f"{name.replace('_', ' ')}: choose one from the list")
        return int(text)

    def day(name: str) -> date | None:
        text = asked.get(name)
        if text is None:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise InputError(f"{name.replace('_', ' ').capitalize()} must be a date, like 2026-12-03") from None

    devices = inventory.device_filter(
        knowledge, as_of, q=asked.get("q"), site_id=number("site_id"), department_id=number("department_id"),
        sensitivity=asked.get("sensitivity"), producer=asked.get("producer"), nil_subject=asked.get("nil_subject"),
        device_class=asked.get("device_class"), status=asked.get("status"),
        review_pending=asked.get("review_pending") in ("1", "true", "yes", "on"),
        first_seen_from=day("first_seen_from"), first_seen_to=day("first_seen_to"),
        last_seen_from=day("last_seen_from"), last_seen_to=day("last_seen_to"))
    key, descending = inventory.parse_sort(request.query_params.get("sort"))
    return asked, devices, key, descending


@router.get("/devices")
def device_list(request: Request, principal: Reader) -> HTMLResponse:
    engine, knowledge = request.app.state.engine, request.app.state.knowledge
    choices = inventory.filter_choices(engine, principal.sites, knowledge)
    limit_text = request.query_params.get("limit", "50")
    limit = int(limit_text) if limit_text.isdigit() and int(limit_text) in PAGE_SIZES else 50
    sort_text = request.query_params.get("sort", "id")[:20]
    try:
        asked, devices, key, descending = _inventory_request(request, principal)
        page = inventory.device_inventory(engine, principal.sites, knowledge, request.app.state.settings.today(),
                                          devices, sort=key, descending=descending,
                                          cursor=request.query_params.get("after", "")[:400] or None, limit=limit)
    except InputError as exc:
        asked = {k: request.query_params.get(k, "")[:200] for k in INVENTORY_FIELDS if request.query_params.get(k)}
        return render(request, "devices.html", principal, http_status=422, error=str(exc), page=None, asked=asked,
                      choices=choices, sort=sort_text, limit=limit, page_sizes=PAGE_SIZES, query=_query(asked))
    return render(request, "devices.html", principal, error=None, page=page, asked=asked, choices=choices,
                  sort=sort_text, limit=limit, page_sizes=PAGE_SIZES, query=_query(asked),
                  first_page=bool(request.query_params.get("after")))


def _query(asked: dict[str, str], **more: Any) -> str:
    """The filters as a query string, for sort, page and export links that keep them."""
    return urlencode({**asked, **{k: v for k, v in more.items() if v not in (None, "")}})


@router.get("/devices/export")
def device_export(request: Request, principal: Reader,
                  format: Annotated[str, Query(pattern="^(csv|xlsx|json)$")] = "csv") -> Response:
    _asked, devices, key, descending = _inventory_request(request, principal)
    as_of = request.app.state.settings.today()
    chunks = inventory.export_devices(request.app.state.engine, principal.sites, request.app.state.knowledge, as_of,
                                      devices, sort=key, descending=descending, file_type=format)
    return StreamingResponse(chunks, media_type=inventory.EXPORT_TYPES[format], headers={
        "Content-Disposition": f'attachment; filename="devices-{as_of.isoformat()}.{format}"'})


@router.get("/devices/{device_id}")
def device_detail(request: Request, device_id: int, principal: Reader) -> HTMLResponse:
    try:
        detail = read_device_detail(request.app.state.engine, principal.sites, device_id)
    except NotFoundError as exc:
        raise HTTPException(404, NO_SUCH_DEVICE) from exc
    device = device_json(detail.view, request.app.state.knowledge, request.app.state.settings.today())
    return render(request, "device.html", principal, device=device, detail=detail,
                  can_write=principal.can(Scope.WRITE), today=request.app.state.settings.today())


@router.post("/devices/{device_id}/removal")
def device_removal(request: Request, device_id: int, principal: Writer,
                   removed_on: Annotated[date, Form()]) -> Response:
    from clearsite.services.removal import record_removal as claim_removal

    try:  # a claim like any other: a later scan verifies it
        claim_removal(request.app.state.engine, request.app.state.knowledge, principal.actor, principal.sites,
                      device_id, removed_on=removed_on, today=request.app.state.settings.today())
    except NotFoundError as exc:
        raise HTTPException(404, NO_SUCH_DEVICE) from exc
    cache.forget_all()
    return RedirectResponse(f"/devices/{device_id}", status_code=303)


FINDING_FIELDS = ("site_id", "status", "policy", "obligation")


def _finding_request(request: Request) -> dict[str, Any]:
    """The findings filters asked for, checked: site (a number), status, policy and obligation (the knowledge's)."""
    asked = {k: request.query_params.get(k, "").strip()[:64] for k in FINDING_FIELDS}
    asked = {k: v for k, v in asked.items() if v}
    site_text = asked.get("site_id")
    if site_text is not None and (not site_text.isdigit() or len(site_text) > 18):
        raise InputError("site: choose one from the list")
    if asked.get("status", "") not in ("", *estate.STATUSES):
        raise InputError("status: choose one from the list")
    finding_list.check_finding_filter(request.app.state.knowledge, asked.get("policy"), asked.get("obligation"))
    return asked


def _finding_filter(asked: dict[str, str]) -> dict[str, Any]:
    return {"site_id": int(asked["site_id"]) if "site_id" in asked else None, "status": asked.get("status"),
            "policy": asked.get("policy"), "obligation": asked.get("obligation")}


@router.get("/findings")
def findings(request: Request, principal: Reader) -> HTMLResponse:
    """Findings filtered, counted and sorted (sortable columns; `after` is the previous page's last row)."""
    engine = request.app.state.engine
    limit_text = request.query_params.get("limit", "50")
    limit = int(limit_text) if limit_text.isdigit() and int(limit_text) in PAGE_SIZES else 50
    sites = inventory.filter_choices(engine, principal.sites, request.app.state.knowledge).sites
    choices = finding_list.finding_choices(request.app.state.knowledge)
    after_text = request.query_params.get("after", "").strip()[:200]
    sort_text = request.query_params.get("sort", "").strip()[:20] or "id"
    try:
        asked = _finding_request(request)
        sort, descending = finding_list.parse_finding_sort(sort_text)
        after, after_key = 0, None
        if after_text and sort == "id":
            if not after_text.isdigit() or len(after_text) > 18:
                raise InputError("after: not a page of this list (start again from the first page)")
            after = int(after_text)
        elif after_text:
            after_key = finding_list.read_finding_cursor(after_text, sort)
    except InputError as exc:
        asked = {k: request.query_params.get(k, "")[:64] for k in FINDING_FIELDS if request.query_params.get(k)}
        return render(request, "findings.html", principal, http_status=422, error=str(exc), findings=[], total=None,
                      asked=asked, statuses=estate.STATUSES, sites=sites, policies=choices, limit=limit,
                      page_sizes=PAGE_SIZES, query=_query(asked), next_after=None, first_page=False, sort="id")
    wanted = _finding_filter(asked)
    rows = estate.findings(engine, principal.sites, after=after, limit=limit, sort=sort, descending=descending,
                           after_key=after_key, **wanted)
    total = finding_list.finding_total(engine, principal.sites, **wanted)
    next_after = None
    if len(rows) == limit:
        next_after = str(rows[-1]["id"]) if sort == "id" else finding_list.finding_cursor(rows[-1], sort)
    return render(request, "findings.html", principal, error=None, findings=rows, total=total, asked=asked,
                  statuses=estate.STATUSES, sites=sites, policies=choices, limit=limit, page_sizes=PAGE_SIZES,
                  query=_query(asked), next_after=next_after, first_page=bool(after_text), sort=sort_text)


@router.get("/findings/export")
def findings_export(request: Request, principal: Reader) -> Response:
    wanted = _finding_filter(_finding_request(request))
    as_of = request.app.state.settings.today()
    chunks = finding_list.findings_export(request.app.state.engine, principal.sites, **wanted)
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="findings-{as_of.isoformat()}.csv"'})


@router.get("/audit")
def audit_page(request: Request, principal: Annotated[Principal, Depends(needs(Scope.AUDIT))],
               before: Annotated[int, Query(ge=0)] = 0, target: Annotated[str, Query(max_length=100)] = "",
               q: Annotated[str, Query(max_length=100)] = "") -> HTMLResponse:
    """The log newest first: all of it, one object's entries (target=device:12), or those whose actor or action
    contains the search text; a page at a time, older pages by `before`."""
    engine = request.app.state.engine
    wanted_target, text = target.strip(), " ".join(q.split()).lower()
    entries: list[Any] = []
    cursor, scanned = before, 0
    while len(entries) < PAGE and scanned < AUDIT_SCAN:  # a filter reads back through the log a batch at a time
        batch = audit_entries(engine, cursor, 2000, newest_first=True)
        if not batch:
            break
        scanned += len(batch)
        cursor = batch[-1].seq
        entries += [e for e in batch if finding_list.audit_matches(e, wanted_target, text)]
        if not (wanted_target or text) or cursor <= 1:
            break
    entries = entries[:PAGE]
    check = verify_audit_log(engine)
    asked = {k: v for k, v in (("target", wanted_target), ("q", text)) if v}
    more = bool(entries) and entries[-1].seq > 1 and (len(entries) == PAGE or scanned >= AUDIT_SCAN)
    return render(request, "audit.html", principal, entries=entries, check=check, asked=asked, query=_query(asked),
                  next_before=entries[-1].seq if more else None, first_page=before > 0)


AUDIT_SCAN = 50_000  # entries one filtered page reads back through at most


@router.get("/audit/export")
def audit_export(request: Request, principal: Annotated[Principal, Depends(needs(Scope.AUDIT))],
                 target: Annotated[str, Query(max_length=100)] = "",
                 q: Annotated[str, Query(max_length=100)] = "") -> Response:
    """The entries the page's filter matches, newest first, as CSV; reading the log does not add to it."""
    stamp = request.app.state.settings.today().isoformat()
    return StreamingResponse(finding_list.audit_export(request.app.state.engine, target, q),
                             media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'})


@router.get("/knowledge/producers/{producer_id}")
def producer_page(request: Request, producer_id: Annotated[str, Path(max_length=64)], principal: Reader) -> HTMLResponse:
    try:
        producer = producer_profile(request.app.state.knowledge, producer_id, request.app.state.settings.today())
    except NotFoundError as exc:
        raise HTTPException(404, "The knowledge base has no producer with that id.") from exc
    return render(request, "producer.html", principal, producer=producer)


# --------------------------------------------------------------------------- screening


@router.get("/screen")
def screen_form(request: Request, principal: Annotated[Principal, Depends(needs(Scope.SCREEN))]) -> HTMLResponse:
    rows = estate.sites(request.app.state.engine, principal.sites)
    return render(request, "screen.html", principal, sites=rows, result=None, error=None, chosen=None)


@router.post("/screen")
async def screen_submit(request: Request, principal: Annotated[Principal, Depends(needs(Scope.SCREEN))],
                        site_id: Annotated[str, Form(max_length=20)] = "",
                        pasted: Annotated[str, Form(max_length=2_000_000)] = "",
                        quote_file: Annotated[UploadFile | None, File()] = None) -> HTMLResponse:
    partial = request.headers.get("hx-request") == "true"
    chosen = int(site_id) if site_id.isdigit() else None
    data, name = pasted.encode(), "pasted.csv"
    if quote_file is not None and quote_file.filename:
        data, name = await quote_file.read(request.app.state.settings.max_body_bytes + 1), quote_file.filename
    result, error = None, None
    try:
        if not data.strip():
            raise ValueError("Paste quote lines or choose a quote file.")
        result = await run_in_threadpool(_screen_file, request, principal, chosen, data, name)
    except NotFoundError:
        error = NO_SUCH_SITE
    except ValueError as exc:  # a quote the reader cannot read says why, in one line
        error = str(exc)
    template = "screen_result.html" if partial else "screen.html"
    rows = [] if partial else estate.sites(request.app.state.engine, principal.sites)
    return render(request, template, principal, sites=rows, result=result, error=error, chosen=chosen,
                  http_status=200 if error is None else 422)


def _screen_file(request: Request, principal: Principal, site_id: int | None, data: bytes,
                 name: str) -> screening.ScreenResult:
    site = screening.site_for(request.app.state.engine, principal, site_id)
    held = screening.attestations(request.app.state.engine, principal)
    lines, problems = screening.lines_from_file(data, name)
    return screening.run(lines, site, request.app.state.knowledge, request.app.state.settings.today(), held, problems)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    principal = getattr(request.state, "principal", None)
    return render(request, "error.html", principal, http_status=status, status=status, message=message)


