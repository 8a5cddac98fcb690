"""coverage from agents and files: reserved for the issue 12 coverage helper (A); a no-op until it is filled in

Revision ID: 0012
Revises: 0011
"""

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
