"""review decisions: people settle verdicts the machine cannot

Revision ID: 0006
Revises: 0005

Tables as store/decisions.py declares them: the append-only history of review decisions, and each
device's review state now (the decision in force and any flag that sent it back to a person).
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("nil_subject", sa.String(length=16), nullable=True),
        sa.Column("producer_id", sa.String(length=64), nullable=True),
        sa.Column("device_class", sa.String(length=40), nullable=True),
        sa.Column("model", sa.String(length=120), nullable=True),
        sa.Column("label_brand", sa.String(length=120), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("machine_producer", sa.String(length=64), nullable=True),
        sa.Column("machine_nil", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_decisions_device_id", "review_decisions", ["device_id"])
    op.create_table(
        "review_states",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("flag_kind", sa.String(length=32), nullable=True),
        sa.Column("flag_reason", sa.Text(), nullable=True),
        sa.Column("flag_raised_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"]),
        sa.ForeignKeyConstraint(["decision_id"], ["review_decisions.id"]),
        sa.PrimaryKeyConstraint("device_id"),
    )


def downgrade() -> None:
    op.drop_table("review_states")
    op.drop_index("ix_review_decisions_device_id", table_name="review_decisions")
    op.drop_table("review_decisions")
