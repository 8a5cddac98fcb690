"""Opening the database, for the doors: they name a URL, the store opens and migrates it."""

from __future__ import annotations

from sqlalchemy import Engine

from clearsite.store.db import open_database
from clearsite.store.transactions import announce_waits

__all__ = ["Engine", "announce_waits", "open_database"]
