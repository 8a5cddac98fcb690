"""site agents: heartbeats, jobs, push idempotency

Revision ID: 0009
Revises: 0008

Tables as store/agents_tables.py declares them: the latest heartbeat of each site's agent, the scan
jobs officers ask of agents, and the idempotency keys of applied pushes.
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("agent_heartbeats",
    sa.Column("site_id", sa.Integer(), nullable=False),
    sa.Column("agent", sa.String(length=100), nullable=False),
    sa.Column("host", sa.String(length=200), nullable=False),
    sa.Column("version", sa.String(length=40), nullable=False),
    sa.Column("spooled", sa.Integer(), nullable=False),
    sa.Column("last_scan", sa.DateTime(), nullable=True),
    sa.Column("last_push", sa.DateTime(), nullable=True),
    sa.Column("heard_at", sa.DateTime(), nullable=False),
    sa.Column("silent_alerted_at", sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ),
    sa.PrimaryKeyConstraint("site_id")
    )
    op.create_table("agent_jobs",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("site_id", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("targets", sa.JSON(), nullable=False),
    sa.Column("status", sa.String(length=16), nullable=False),
    sa.Column("requested_by", sa.String(length=200), nullable=False),
    sa.Column("requested_at", sa.DateTime(), nullable=False),
    sa.Column("claimed_by", sa.String(length=200), nullable=True),
    sa.Column("claimed_at", sa.DateTime(), nullable=True),
    sa.Column("finished_at", sa.DateTime(), nullable=True),
    sa.Column("outcome", sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ),
    sa.PrimaryKeyConstraint("id")
    )
    with op.batch_alter_table("agent_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_agent_jobs_site_status", ["site_id", "status"], unique=False)
    op.create_table("agent_push_keys",
    sa.Column("key", sa.String(length=100), nullable=False),
    sa.Column("site_id", sa.Integer(), nullable=False),
    sa.Column("applied_at", sa.DateTime(), nullable=False),
    sa.Column("result", sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ),
    sa.PrimaryKeyConstraint("key")
    )


def downgrade() -> None:
    op.drop_table("agent_push_keys")
    with op.batch_alter_table("agent_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_jobs_site_status")
    op.drop_table("agent_jobs")
    op.drop_table("agent_heartbeats")
