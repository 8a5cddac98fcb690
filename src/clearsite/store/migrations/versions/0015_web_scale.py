"""web scale: a per-site summary for the dashboard and the timeline, and indexes the device list sorts with

Revision ID: 0015
Revises: 0014

Tables as store/site_summary.py declares them: derived data, rebuilt with the inventory index; dropping
them loses nothing.
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


def downgrade() -> None:
    op.drop_table("site_status_summary")
    op.drop_table("site_summary")
