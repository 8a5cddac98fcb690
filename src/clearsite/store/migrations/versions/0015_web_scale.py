"""web scale: a per-site summary for the dashboard and the timeline, the inventory's facet counts, and (PostgreSQL) a trigram index of the search box

Revision ID: 0015
Revises: 0014

Tables as store/site_summary.py declares them: derived data, rebuilt with the inventory index; dropping
them loses nothing. On PostgreSQL with the pg_trgm extension available (contrib; a trusted extension, so the
database's owner may create it), a GIN trigram index serves the search box's LIKE '%text%' as SQLite's FTS5
trigram table does (store/inventory_index.py); without it the search reads the narrow table.
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_summary",
        sa.Column("site_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("removal_open", sa.Integer(), nullable=False),
        sa.Column("removal_claimed", sa.Integer(), nullable=False),
        sa.Column("removal_verified", sa.Integer(), nullable=False),
        sa.Column("last_removed", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("site_id"),
    )
    op.create_table(
        "site_status_summary",
        sa.Column("site_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "status"),
    )
    # The inventory's facet counts and two more indexes of its index (store/inventory_index.py); the stored
    # index is made stale so the next listing rebuilds it with its facets.
    op.create_table(
        "device_facets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.String(length=64), nullable=True),
        sa.Column("brand", sa.String(length=120), nullable=True),
        sa.Column("device_class", sa.String(length=40), nullable=False),
        sa.Column("worst", sa.SmallInteger(), nullable=False),
        sa.Column("pending", sa.SmallInteger(), nullable=False),
        sa.Column("decided_nil", sa.String(length=16), nullable=True),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_device_facets_site", "device_facets", ["site_id"])
    op.create_index("ix_device_index_decided_nil", "device_index", ["decided_nil"])
    op.create_index("ix_device_index_brand", "device_index", ["brand"])
    op.create_index("ix_device_index_first_seen", "device_index", ["first_seen"])
    op.create_index("ix_device_index_last_seen", "device_index", ["last_seen"])
    op.execute("DELETE FROM device_index_state")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and bind.exec_driver_sql(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").first():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX IF NOT EXISTS ix_device_index_search_trgm ON device_index USING gin "
                   "(search gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_device_index_search_trgm")  # the extension stays: others may use it
    op.drop_index("ix_device_index_last_seen", table_name="device_index")
    op.drop_index("ix_device_index_first_seen", table_name="device_index")
    op.drop_index("ix_device_index_brand", table_name="device_index")
    op.drop_index("ix_device_index_decided_nil", table_name="device_index")
    op.drop_index("ix_device_facets_site", table_name="device_facets")
    op.drop_table("device_facets")
    op.drop_table("site_status_summary")
    op.drop_table("site_summary")
