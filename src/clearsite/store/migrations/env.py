"""Alembic environment: run against the engine clearsite hands over (no ini file, no URL in config)."""

from alembic import context

import clearsite.store.auth_tables  # noqa: F401 - registers the web tables so autogenerate sees them
from clearsite.store.tables import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
