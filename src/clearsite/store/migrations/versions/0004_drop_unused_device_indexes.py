"""drop the device serial and MAC indexes

No query looks devices up by serial or MAC across sites: imports load a site's devices through the
(site_id, natural_key) index and match keys in memory. The two indexes only cost writes (about 4 s
of a million-device import, where serials land at random places in the B-tree).

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch_op:
        batch_op.drop_index("ix_devices_serial")
        batch_op.drop_index("ix_devices_mac")


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch_op:
        batch_op.create_index("ix_devices_mac", ["mac"], unique=False)
        batch_op.create_index("ix_devices_serial", ["serial"], unique=False)
