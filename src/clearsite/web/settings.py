"""How one running web app behaves; built by `clearsite serve` or by tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class Settings:
    # Signs session cookies and derives CSRF tokens. A fresh one per process unless given
    # (CLEARSITE_SECRET_KEY), so a restart logs everyone out rather than reusing a guessable key.
    secret_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # Mark cookies Secure even when the request arrives as plain HTTP (TLS ended by a proxy that
    # does not send X-Forwarded-Proto). Requests seen as https always get Secure cookies.
    secure_cookies: bool = False
    session_hours: float = 12.0
    as_of: date | None = None  # assess and show at this date; today when None
    public_min_count: int = 5  # the public report shows smaller counts as "fewer than N"
    max_body_bytes: int = 8 * 1024 * 1024  # a 1,000-line quote is well under this
    max_push_observations: int = 2000
    # Password checks at once in this process: argon2 takes 64 MiB each, so 40 at once took 1 GB; two keep
    # 40 concurrent wrong logins near 360 MB (tests/security/test_login_flood.py) and the CPUs busy.
    login_slots: int = 2
    # Quote and register uploads parsed at once (each in a worker process under upload_memory_bytes).
    upload_slots: int = 2
    upload_memory_bytes: int = 300 * 1024 * 1024

    def today(self) -> date:
        return self.as_of or date.today()
