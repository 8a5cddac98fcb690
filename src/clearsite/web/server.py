"""The web app as a server starts it by name, configured from the environment.

`clearsite serve` hands uvicorn the import string `clearsite.web.server:app_from_environment`
(a factory) rather than an app object, so the command line never imports the web door; the same
string works with uvicorn or gunicorn directly:

    CLEARSITE_DATABASE_URL=postgresql+psycopg://… uvicorn --factory --workers 4 clearsite.web.server:app_from_environment

Each worker process calls the factory once and gets its own engine and connection pool (sized by
CLEARSITE_DB_POOL_SIZE and friends, store.db.pool_settings); nothing is shared between workers but the
database, so sessions, login throttling and revocations live there.

    CLEARSITE_DATABASE_URL     the database (default sqlite:///clearsite.db)
    CLEARSITE_SECRET_KEY       signs session cookies; set it when running several workers (`clearsite serve`
                               makes one for all its workers when unset; plain uvicorn would not)
    CLEARSITE_SECURE_COOKIES   "1": mark cookies Secure (TLS ends at a proxy)
    CLEARSITE_ALERT_DELIVERY   "0": do not deliver alerts in the background (another process does it)
    CLEARSITE_KNOWLEDGE_CHECK_SECONDS
                               how often to look for a knowledge base installed while serving (default 30;
                               "0": never, keep the one loaded at start)
    CLEARSITE_AGENT_SILENT_AFTER
                               how long without a heartbeat before a site's agent is alerted as silent (26h);
                               each worker looks every minute
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from clearsite.core.errors import ClearsiteError
from clearsite.services import agents
from clearsite.services.database import open_database
from clearsite.services.delivery import DeliveryWorker
from clearsite.services.knowledge import KnowledgeWatch, load_knowledge, watch_seconds_from_environment
from clearsite.web import cache
from clearsite.web.app import create_app
from clearsite.web.settings import Settings

APP_FACTORY = "clearsite.web.server:app_from_environment"
SECURE_COOKIES_VAR = "CLEARSITE_SECURE_COOKIES"
ALERT_DELIVERY_VAR = "CLEARSITE_ALERT_DELIVERY"
SILENCE_CHECK_SECONDS = 60.0  # how often each worker looks for sites whose agent has gone quiet

__all__ = ["APP_FACTORY", "SECURE_COOKIES_VAR", "app_from_environment", "follow_knowledge"]


def app_from_environment() -> FastAPI:
    key = os.environ.get("CLEARSITE_SECRET_KEY")
    secure = os.environ.get(SECURE_COOKIES_VAR) == "1"
    settings = Settings(secret_key=key.encode(), secure_cookies=secure) if key else Settings(secure_cookies=secure)
    app = create_app(open_database(os.environ.get("CLEARSITE_DATABASE_URL")), load_knowledge(), settings)
    if os.environ.get(ALERT_DELIVERY_VAR, "1") != "0":
        _deliver_alerts_in_background(app)
    every = watch_seconds_from_environment()
    if every > 0:
        watch = KnowledgeWatch(every)
        app.state.knowledge_watch = watch
        _every(app, "knowledge-watch", every, lambda: follow_knowledge(app, watch))
    # A site whose agent stops is alerted even when no other agent calls in and nobody opens the agents
    # page (the other two places that look); one worker's pass raises it, the others find it raised.
    silent_after = agents.silent_after_from_environment()
    _every(app, "site-silence", SILENCE_CHECK_SECONDS,
           lambda: agents.check_silent_sites(app.state.engine, silent_after=silent_after))
    # What start-up built (the knowledge base, routes, schemas, templates) lives as long as the worker:
    # set aside from the cyclic collector, which otherwise walks all of it each time a request's
    # allocations trigger a full collection (a third of an agent batch's CPU, measured).
    gc.collect()
    gc.freeze()
    return app


def _deliver_alerts_in_background(app: FastAPI) -> None:
    """Run alert delivery (webhooks, syslog) beside the server for as long as it serves."""

    def report(exc: BaseException) -> None:
        sys.stderr.write(f"clearsite: alert delivery: {type(exc).__name__}: {exc}\n")

    def start() -> Callable[[], None]:
        worker = DeliveryWorker(app.state.engine, on_error=report)
        worker.start()
        return worker.stop

    _while_served(app, start)


def _while_served(app: FastAPI, start: Callable[[], Callable[[], None]]) -> None:
    """Call `start` as the app starts serving, and what it returned as it stops (around its lifespan)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: Any) -> AsyncIterator[Any]:
        stop = start()
        try:
            async with inner(served) as state:
                yield state
        finally:
            stop()

    app.router.lifespan_context = lifespan


def follow_knowledge(app: FastAPI, watch: KnowledgeWatch) -> bool:
    """Serve with the knowledge base installed since the last look, if one was: True when it changed.

    Routes read `app.state.knowledge` for each request, so the next request identifies with the new base;
    the estate's stored identities are brought to it by the next assessment (services.assessment)."""
    old = app.state.knowledge
    try:
        new = watch.look()
    except ClearsiteError as exc:
        sys.stderr.write(f"clearsite: knowledge in use changed but was not loaded ({exc}); still serving {old.version}\n")
        return False
    if new is None:
        return False
    app.state.knowledge = new
    cache.forget_all()
    sys.stderr.write(f"clearsite: knowledge {old.version} -> {new.version}, installed while serving\n")
    return True


def _every(app: FastAPI, name: str, seconds: float, task: Callable[[], object]) -> None:
    """Run `task` every `seconds` on a thread of its own for as long as the app is served (its lifespan).
    `app.state.background[name]` is the task, for a test to run a pass when it chooses."""
    if not hasattr(app.state, "background"):
        app.state.background = {}
    app.state.background[name] = task

    def run(stop: threading.Event) -> None:
        while not stop.wait(seconds):
            try:
                task()
            except Exception as exc:  # noqa: BLE001 - a failed pass is reported; the next one runs as usual
                sys.stderr.write(f"clearsite: {name}: {type(exc).__name__}: {exc}\n")

    def start() -> Callable[[], None]:
        stop = threading.Event()
        thread = threading.Thread(target=run, args=(stop,), name=name, daemon=True)
        thread.start()

        def end() -> None:
            stop.set()
            thread.join(timeout=5)

        return end

    _while_served(app, start)
