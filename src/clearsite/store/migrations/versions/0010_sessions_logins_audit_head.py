"""server-side sessions, login throttling, audit head anchors, site names unique per department

Revision ID: 0010
Revises: 0009

* sessions: a signed-in browser is a row here (keyed by the SHA-256 of the cookie's secret), so
  logout, "sign out everywhere" and a disabled account end it at once.
* login_failures: failed logins per (name, client address), shared by every web worker, with expiry.
* sites: a name is unique within its department only, so adding a site cannot reveal that another
  department already has one of that name.
* PostgreSQL: TRUNCATE on audit_log is refused like UPDATE and DELETE.
* the audit log's current head is signed and kept outside the database (store/audit_anchor.py).
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Names for the unnamed unique constraints of 0001, as batch mode reflects them on SQLite.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.drop_constraint("sites_name_key", "sites", type_="unique")
        op.drop_constraint("sites_name_key_key", "sites", type_="unique")
        op.create_unique_constraint("uq_sites_department_name", "sites", ["department_id", "name_key"])
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")
    else:  # first: it commits what came before
        _rebuild_sqlite_sites(["uq_sites_name", "uq_sites_name_key"],
                              {"uq_sites_department_name": ["department_id", "name_key"]})
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("sessions") as batch_op:
        batch_op.create_index("ix_sessions_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_sessions_expires_at", ["expires_at"], unique=False)
    op.create_table(
        "login_failures",
        sa.Column("pair_hash", sa.String(length=64), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("pair_hash"),
    )
    with op.batch_alter_table("login_failures") as batch_op:
        batch_op.create_index("ix_login_failures_address_hash", ["address_hash"], unique=False)
        batch_op.create_index("ix_login_failures_last_at", ["last_at"], unique=False)
    _keep_audit_head()


def _keep_audit_head() -> None:
    """Sign and keep the head of a log that already has entries, so `audit verify` can check its end from now on."""
    from clearsite.store.audit import head
    from clearsite.store.audit_anchor import anchor_files, keep_head

    bind = op.get_bind()
    files = anchor_files(bind.engine.url)
    current = head(bind)
    if files is not None and current is not None:
        keep_head(files, *current)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.drop_constraint("uq_sites_department_name", "sites", type_="unique")
        op.create_unique_constraint("sites_name_key", "sites", ["name"])
        op.create_unique_constraint("sites_name_key_key", "sites", ["name_key"])
    else:
        _rebuild_sqlite_sites(["uq_sites_department_name"],  # first: it commits what came before
                              {"uq_sites_name": ["name"], "uq_sites_name_key": ["name_key"]})
    with op.batch_alter_table("login_failures") as batch_op:
        batch_op.drop_index("ix_login_failures_last_at")
        batch_op.drop_index("ix_login_failures_address_hash")
    op.drop_table("login_failures")
    with op.batch_alter_table("sessions") as batch_op:
        batch_op.drop_index("ix_sessions_expires_at")
        batch_op.drop_index("ix_sessions_user_id")
    op.drop_table("sessions")


def _rebuild_sqlite_sites(drop: list[str], create: dict[str, list[str]]) -> None:
    """Swap `sites`' unique constraints on SQLite, which means rebuilding the table.

    Devices, networks and users point at `sites`, and SQLite refuses to drop a table others point at
    while foreign keys are enforced; the pragma that stops enforcing them works only outside a
    transaction. So: commit what came before (the schema as of 0009, version included), rebuild with
    enforcement off, check every reference still holds, commit, and turn enforcement back on.
    """
    bind = op.get_bind()
    names = {c["name"] or _NAMING["uq"] % {"table_name": "sites", "column_0_name": c["column_names"][0]}
             for c in sa.inspect(bind).get_unique_constraints("sites")}
    if not set(create) - names:
        return  # already done (a run that stopped after this step)
    raw = bind.connection.dbapi_connection
    assert raw is not None
    if raw.in_transaction:
        raw.commit()
    raw.execute("PRAGMA foreign_keys = OFF")
    try:
        with op.batch_alter_table("sites", naming_convention=_NAMING, recreate="always") as batch_op:
            for name in drop:
                if name in names:
                    batch_op.drop_constraint(name, type_="unique")
            for name, columns in create.items():
                batch_op.create_unique_constraint(name, columns)
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"rebuilding sites broke {len(broken)} references; nothing was changed")
        raw.commit()
    finally:
        if raw.in_transaction:
            raw.rollback()
        raw.execute("PRAGMA foreign_keys = ON")
