"""observations without per-row foreign key checks

An import stores one observation per register row. On PostgreSQL each of the table's three foreign keys
(source, site, device) is a trigger run once per inserted row, at the end of each COPY, while the importer
waits: measured on a 100,000-row register, they were 1.2 of the 2.9 CPU seconds the server spent on the
import (about 12 s of server time at a million rows, on a machine of two CPUs).

Observations are written in one place (store/devices.ObservationWriter), in the transaction that made or
read the device they belong to, for a source row it has just added and sites it has just read; sources,
sites and devices are never deleted. So, as for identities and findings (migration 0014), the keys are
dropped and the index on device_id stays. Devices keep their key to sites.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_KEYS = [("source_id", "sources"), ("site_id", "sites"), ("device_id", "devices")]


def _observations(with_keys: bool) -> sa.Table:
    keys = [sa.ForeignKeyConstraint([column], [f"{table}.id"]) for column, table in _KEYS] if with_keys else []
    return sa.Table("observations", sa.MetaData(),
                    sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("source_id", sa.Integer(), nullable=False),
                    sa.Column("site_id", sa.Integer(), nullable=True),
                    sa.Column("device_id", sa.Integer(), nullable=True),
                    sa.Column("kind", sa.String(length=32), nullable=False),
                    sa.Column("locator", sa.String(length=500), nullable=False),
                    sa.Column("observed_at", sa.DateTime(), nullable=False),
                    sa.Column("fingerprint", sa.String(length=64), nullable=False),
                    sa.Column("data", sa.JSON(), nullable=False),
                    *keys,
                    sa.UniqueConstraint("fingerprint"),
                    sa.Index("ix_observations_device", "device_id"))


def _rebuild_sqlite(with_keys: bool) -> None:
    """SQLite cannot drop or add a foreign key: the table is copied into one declared without (or with) them.
    Nothing refers to observations, so the copy may replace it."""
    table = _observations(with_keys)
    with op.batch_alter_table(table.name, recreate="always", copy_from=table):
        pass


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_keys=False)
        return
    for key in sa.inspect(op.get_bind()).get_foreign_keys("observations"):
        if key["name"]:  # PostgreSQL names every constraint
            op.drop_constraint(key["name"], "observations", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_keys=True)
        return
    for column, referenced in _KEYS:
        op.create_foreign_key(f"observations_{column}_fkey", "observations", referenced, [column], ["id"])
