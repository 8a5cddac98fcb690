"""findings point to shared outcomes

A million devices share a few thousand outcomes (policy, obligation, status, due date, reasons), so
each is stored once in `outcomes` and a finding is (device, outcome): an assessment of a million
devices writes about 40 MB of findings instead of 500 MB. Existing findings are carried over.
Findings have no index on their outcome: queries by status or policy read most findings anyway,
and the index would cost 40% of the time an assessment spends writing.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_OUTCOME = "policy, obligation, status, due, reasons, as_of, assessed_at"


def _text(column: str) -> str:
    """A JSON column as text that can be compared (PostgreSQL's json type has no equality)."""
    return f"CAST({column} AS TEXT)" if op.get_bind().dialect.name == "postgresql" else column


def _json(expression: str) -> str:
    return f"CAST({expression} AS JSON)" if op.get_bind().dialect.name == "postgresql" else expression


def upgrade() -> None:
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("obligation", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("assessed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outcomes_policy", "outcomes", ["policy", "obligation", "status"], unique=False)
    op.execute(f"INSERT INTO outcomes (policy, obligation, status, due, reasons, as_of, assessed_at) "
               f"SELECT policy, obligation, status, due, {_json('reasons_text')}, as_of, assessed_at FROM "
               f"(SELECT DISTINCT policy, obligation, status, due, {_text('reasons')} AS reasons_text, as_of, "
               f"assessed_at FROM findings) AS distinct_outcomes")
    op.create_table(
        "findings_new",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("outcome_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.ForeignKeyConstraint(["outcome_id"], ["outcomes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(f"INSERT INTO findings_new (id, device_id, outcome_id) SELECT f.id, f.device_id, o.id "
               f"FROM findings f JOIN outcomes o ON o.policy = f.policy AND o.obligation = f.obligation "
               f"AND o.status = f.status AND (o.due = f.due OR (o.due IS NULL AND f.due IS NULL)) "
               f"AND {_text('o.reasons')} = {_text('f.reasons')} AND o.as_of = f.as_of "
               f"AND o.assessed_at = f.assessed_at")
    op.drop_table("findings")
    op.rename_table("findings_new", "findings")
    _sync_sequence()
    op.create_index("ix_findings_device", "findings", ["device_id"], unique=False)


def downgrade() -> None:
    op.create_table(
        "findings_old",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("obligation", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("assessed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(f"INSERT INTO findings_old (id, device_id, {_OUTCOME}) SELECT f.id, f.device_id, o.policy, "
               f"o.obligation, o.status, o.due, o.reasons, o.as_of, o.assessed_at "
               f"FROM findings f JOIN outcomes o ON o.id = f.outcome_id")
    op.drop_table("findings")
    op.rename_table("findings_old", "findings")
    _sync_sequence()
    op.create_index("ix_findings_device", "findings", ["device_id"], unique=False)
    op.create_index("ix_findings_status", "findings", ["status"], unique=False)
    op.drop_index("ix_outcomes_policy", table_name="outcomes")
    op.drop_table("outcomes")


def _sync_sequence() -> None:
    """PostgreSQL: the renamed table's id sequence carries on after the ids copied into it."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('findings', 'id'), COALESCE(MAX(id), 0) + 1, false) "
                   "FROM findings")
