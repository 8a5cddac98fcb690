"""The web app as a server starts it by name, configured from the environment.

`clearsite serve` hands uvicorn the import string `clearsite.web.server:app_from_environment`
(a factory) rather than an app object, so the command line never imports the web door; the same
string works with uvicorn or gunicorn directly:

    CLEARSITE_DATABASE_URL=postgresql+psycopg://… uvicorn --factory clearsite.web.server:app_from_environment

    CLEARSITE_DATABASE_URL     the database (default sqlite:///clearsite.db)
    CLEARSITE_SECRET_KEY       signs session cookies; a fresh one per process when unset
    CLEARSITE_SECURE_COOKIES   "1": mark cookies Secure (TLS ends at a proxy)
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from clearsite.services.database import open_database
from clearsite.services.knowledge import load_knowledge
from clearsite.web.app import create_app
from clearsite.web.settings import Settings

APP_FACTORY = "clearsite.web.server:app_from_environment"
SECURE_COOKIES_VAR = "CLEARSITE_SECURE_COOKIES"

__all__ = ["APP_FACTORY", "SECURE_COOKIES_VAR", "app_from_environment"]


def app_from_environment() -> FastAPI:
    key = os.environ.get("CLEARSITE_SECRET_KEY")
    secure = os.environ.get(SECURE_COOKIES_VAR) == "1"
    settings = Settings(secret_key=key.encode(), secure_cookies=secure) if key else Settings(secure_cookies=secure)
    return create_app(open_database(os.environ.get("CLEARSITE_DATABASE_URL")), load_knowledge(), settings)
