"""Session cookies: a small signed payload (user, session version, nonce, issue time) pointing at a server-side session.

The signature is HMAC-SHA256 under the app's secret. The nonce is fresh at every login, so a
cookie planted before login is useless after it (no session fixation), and the CSRF token is
derived from it, so each session has its own. For a signed-in user the nonce is also the secret
whose digest keys the session's row (services.auth.start_session): the cookie alone grants nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "clearsite_session"


@dataclass(frozen=True, slots=True)
class SessionData:
    user_id: int | None  # None: not logged in yet (still carries a nonce for the login form's CSRF token)
    version: int
    nonce: str
    issued: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_session(user_id: int | None, version: int = 0, nonce: str | None = None) -> SessionData:
    return SessionData(user_id, version, nonce or secrets.token_urlsafe(16), time.time())


def encode(data: SessionData, secret: bytes) -> str:
    body = _b64(json.dumps({"u": data.user_id, "v": data.version, "n": data.nonce, "t": data.issued},
                           separators=(",", ":")).encode())
    return body + "." + _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())


def decode(cookie: str | None, secret: bytes, max_age_seconds: float) -> SessionData | None:
    """The session in a cookie, or None when it is missing, forged, malformed or too old."""
    if not cookie or len(cookie) > 1000 or "." not in cookie:
        return None
    body, signature = cookie.rsplit(".", 1)
    expected = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(signature, expected):
        return None
    try:
        raw = json.loads(_unb64(body))
        data = SessionData(raw["u"], int(raw["v"]), str(raw["n"]), float(raw["t"]))
    except (ValueError, KeyError, TypeError):
        return None
    if data.user_id is not None and not isinstance(data.user_id, int):
        return None
    if not 0 <= time.time() - data.issued <= max_age_seconds:
        return None
    return data


def csrf_token(data: SessionData, secret: bytes) -> str:
    return hmac.new(secret, b"csrf:" + data.nonce.encode(), hashlib.sha256).hexdigest()


def csrf_ok(data: SessionData | None, secret: bytes, given: str | None) -> bool:
    return data is not None and bool(given) and hmac.compare_digest(csrf_token(data, secret), given or "")
