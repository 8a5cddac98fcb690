"""The app factory: `create_app(engine, knowledge, settings)` → a FastAPI app serving pages and /api/v1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clearsite import __name__ as _package
from clearsite.core.errors import ClearsiteError
from clearsite.core.knowledge import Knowledge
from clearsite.services.auth import HashingGate
from clearsite.web import (
    api,
    api_agents,
    api_orders,
    pages,
    pages_account,
    pages_admin,
    pages_agents,
    pages_orders,
    pages_programme,
    screening,
)
from clearsite.web.access import LoginRequired, NotAllowed, PasswordChangeRequired
from clearsite.web.api_delivery import router as delivery_api
from clearsite.web.api_evidence import router as evidence_api
from clearsite.web.api_review import router as review_api
from clearsite.web.pages_delivery import router as delivery_pages
from clearsite.web.pages_review import router as review_pages
from clearsite.web.push_gate import PushGate
from clearsite.web.settings import Settings

STATIC = Path(__file__).parent / "static"
# No inline script or style anywhere, so the policy can forbid both; htmx and the CSS are served from here.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'; connect-src 'self'")


class SecurityHeaders:
    """Pure ASGI (no per-request task overhead): security headers on every answer, and a body-size cap."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            response = JSONResponse({"detail": f"request body over {self.max_body} bytes"}, status_code=413)
            await response(scope, receive, self._with_headers(send, https))
            return
        seen = 0

        async def capped_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise HTTPException(413, f"request body over {self.max_body} bytes")
            return message

        await self.app(scope, capped_receive, self._with_headers(send, https))

    @staticmethod
    def _with_headers(send: Send, https: bool) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"no-referrer"), (b"x-content-type-options", b"nosniff"),
                            (b"cross-origin-opener-policy", b"same-origin"),
                            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()")]
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))  # pages hold sensitive detail
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        return wrapped


def create_app(engine: Engine, knowledge: Knowledge, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="clearsite", version=_version(), openapi_url="/api/v1/openapi.json", docs_url=None,
                  redoc_url=None, description="Find, judge, plan and prove the removal of surveillance equipment "
                  "made by companies subject to the PRC National Intelligence Law.")
    app.state.engine = engine
    app.state.knowledge = knowledge
    app.state.settings = settings
    app.state.login_gate = HashingGate(settings.login_slots)
    screening.configure_uploads(settings)  # uploads parsed in capped worker processes
    app.include_router(api.router)
    app.include_router(api_orders.router)
    app.include_router(evidence_api)
    app.include_router(pages_orders.router)
    app.include_router(review_api)
    app.include_router(review_pages)
    app.include_router(api_agents.router)
    app.include_router(pages_agents.router)
    app.include_router(delivery_api)
    app.include_router(delivery_pages)
    app.include_router(pages.router)
    app.include_router(pages_programme.router)
    app.include_router(pages_account.router)
    app.include_router(pages_account.api_router)
    app.include_router(pages_admin.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _handlers(app)
    app.add_middleware(PushGate)  # agents' batches a few at a time, bodies unread while they wait
    app.add_middleware(SecurityHeaders, max_body=settings.max_body_bytes)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        return pages.login_redirect(request)

    @app.exception_handler(PasswordChangeRequired)
    async def password_change(request: Request, _exc: PasswordChangeRequired) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "choose a new password first (/account/password)"}, status_code=403)
        return RedirectResponse("/account/password", status_code=303)

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, exc: NotAllowed) -> Response:
        return pages.error_page(request, 403, str(exc))

    @app.exception_handler(ClearsiteError)
    async def refused(request: Request, exc: ClearsiteError) -> Response:
        # By class, never by message: NotFoundError 404, ConflictError 409, InputError 422, …
        if _is_api(request) or request.headers.get("hx-request") == "true":
            return JSONResponse({"detail": str(exc)}, status_code=exc.http_status)
        return pages.error_page(request, exc.http_status, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette names only the first route's methods; a path may have several
            headers["Allow"] = ", ".join(sorted(_methods_for(app, request.url.path)))
        if _is_api(request) or request.headers.get("hx-request") == "true":
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
        page = pages.error_page(request, exc.status_code, str(exc.detail))
        page.headers.update(headers)  # Retry-After on a 503 or 429, Allow on a 405
        return page

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # Echo where the problem is, never the value sent: bodies are untrusted and may be large.
        problems: list[dict[str, Any]] = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type")}
                                          for e in exc.errors()[:20]]
        if _is_api(request):
            return JSONResponse({"detail": problems}, status_code=422)
        return pages.error_page(request, 422, "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems))


def _methods_for(app: FastAPI, path: str) -> set[str]:
    methods: set[str] = set()
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path_regex.match(path):
            methods |= route.methods or set()
    return methods


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(_package)
    except PackageNotFoundError:
        return "0"
