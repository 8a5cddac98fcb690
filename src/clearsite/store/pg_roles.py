"""PostgreSQL roles for a central server: migrations run as the owner, the app as a role that cannot
rewrite history.

The owner role owns the schema and runs `clearsite db upgrade` (or the first `serve` with its URL);
the application role, used by `clearsite serve` workers and the CLI day to day, may read and change
every table except the audit log, where it may only add rows: no UPDATE, DELETE or TRUNCATE, so a
compromised app cannot drop the append-only triggers (only the owner can) nor cut the log. The SQL
is given by `least_privilege_sql` (deployment docs print it) and applied by `grant_least_privilege`.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def least_privilege_sql(app_role: str = "clearsite_app", owner_role: str = "clearsite_owner") -> list[str]:
    """Statements the owner runs in the clearsite database once migrations are done (and after each new
    migration; the default privileges cover tables made later by the same owner)."""
    for role in (app_role, owner_role):
        if not _ROLE.match(role):
            raise ValueError(f"role name {role!r}: use lower-case letters, digits and _")
    return [
        f"GRANT USAGE ON SCHEMA public TO {app_role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app_role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {app_role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app_role}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_role} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app_role}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_role} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app_role}",
    ]


def grant_least_privilege(conn: Connection, app_role: str, owner_role: str) -> None:
    for statement in least_privilege_sql(app_role, owner_role):
        conn.exec_driver_sql(statement)
