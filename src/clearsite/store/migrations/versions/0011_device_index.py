"""the inventory's search index: one narrow row per device, rebuilt when the estate changes

Revision ID: 0011
Revises: 0010

Tables as store/inventory_index.py declares them. Derived data only: dropping them loses nothing.
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_INDEXES = {"ix_device_index_department": "department_id", "ix_device_index_site": "site_id",
            "ix_device_index_producer": "producer_id", "ix_device_index_class": "device_class",
            "ix_device_index_worst": "worst", "ix_device_index_pending": "pending"}


def upgrade() -> None:
    op.create_table(
        "device_index",
        sa.Column("device_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.String(length=64), nullable=True),
        sa.Column("brand", sa.String(length=120), nullable=True),
        sa.Column("device_class", sa.String(length=40), nullable=False),
        sa.Column("worst", sa.SmallInteger(), nullable=False),
        sa.Column("pending", sa.SmallInteger(), nullable=False),
        sa.Column("decided_nil", sa.String(length=16), nullable=True),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("search", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("device_id"),
    )
    for name, column in _INDEXES.items():
        op.create_index(name, "device_index", [column], unique=False)
    op.create_table(
        "device_index_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(length=400), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    if op.get_bind().dialect.name == "sqlite":  # a trigram index of the search text (store/inventory_index.py)
        op.execute("CREATE VIRTUAL TABLE IF NOT EXISTS device_search USING fts5(search, tokenize='trigram', "
                   "detail='none')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS device_search")
    op.drop_table("device_index_state")
    for name in _INDEXES:
        op.drop_index(name, table_name="device_index")
    op.drop_table("device_index")
