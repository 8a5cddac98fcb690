"""findings and identities without per-row foreign key checks

A whole-estate assessment writes two findings per device and an import one identity per device. On
PostgreSQL each foreign key is a trigger run once per inserted row: measured on 200,000 findings, the
COPY took 1.81 s with the two keys and 0.39 s without them (adding the keys back afterwards validated
the same rows in 0.04 s). At a million devices that is some 20 s of a 60 s budget.

Both tables are derived data that only services write, for devices they have just read or made
(store/findings.py, store/identities.py); devices are never deleted, and outcomes are deleted only
together with their findings (store/findings.clear_policies). So the keys are dropped; the indexes stay.

Revision ID: 0014
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None

# table -> (column, referenced table) of each foreign key dropped
_KEYS = {"findings": [("device_id", "devices"), ("outcome_id", "outcomes")],
         "identities": [("device_id", "devices")]}


def _findings(with_keys: bool) -> sa.Table:
    keys = [sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
            sa.ForeignKeyConstraint(["outcome_id"], ["outcomes.id"])] if with_keys else []
    return sa.Table("findings", sa.MetaData(),
                    sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("device_id", sa.Integer(), nullable=False),
                    sa.Column("outcome_id", sa.Integer(), nullable=False),
                    *keys,
                    sa.Index("ix_findings_device", "device_id"))


def _identities(with_keys: bool) -> sa.Table:
    keys = [sa.ForeignKeyConstraint(["device_id"], ["devices.id"])] if with_keys else []
    return sa.Table("identities", sa.MetaData(),
                    sa.Column("device_id", sa.Integer(), primary_key=True, autoincrement=False),
                    sa.Column("label_brand", sa.String(length=120), nullable=True),
                    sa.Column("producer_id", sa.String(length=64), nullable=True),
                    sa.Column("model", sa.String(length=120), nullable=True),
                    sa.Column("device_class", sa.String(length=40), nullable=False),
                    sa.Column("confidence", sa.Float(), nullable=False),
                    sa.Column("evidence", sa.JSON(), nullable=False),
                    sa.Column("contradictions", sa.JSON(), nullable=False),
                    sa.Column("alternatives", sa.JSON(), nullable=False),
                    sa.Column("knowledge_version", sa.String(length=32), nullable=False),
                    sa.Column("computed_at", sa.DateTime(), nullable=False),
                    *keys,
                    sa.Index("ix_identities_producer_id", "producer_id"))


def _rebuild_sqlite(with_keys: bool) -> None:
    """SQLite cannot drop or add a foreign key: each table is copied into one declared without (or with) them."""
    for table in (_findings(with_keys), _identities(with_keys)):
        with op.batch_alter_table(table.name, recreate="always", copy_from=table):
            pass


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_keys=False)
        return
    inspector = sa.inspect(op.get_bind())
    for table in _KEYS:
        for key in inspector.get_foreign_keys(table):
            if key["name"]:  # PostgreSQL names every constraint
                op.drop_constraint(key["name"], table, type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_keys=True)
        return
    for table, keys in _KEYS.items():
        for column, referenced in keys:
            op.create_foreign_key(f"{table}_{column}_fkey", table, referenced, [column], ["id"])
