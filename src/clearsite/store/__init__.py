"""The store: the only code that speaks SQL (SQLAlchemy + Alembic; SQLite by default, PostgreSQL for a
central server). Tables, migrations, the one scoped device reader, the observation writer,
identities, findings, plans, users and the audit log. It imports only the core.

Nothing is re-exported here: import from the module that holds a name.
"""

__all__: list[str] = []
