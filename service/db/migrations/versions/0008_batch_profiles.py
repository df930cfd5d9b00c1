"""batches.profile_path: a batch's stored profile; batches.path nullable (profile-only batches)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 22:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batches stored before this revision have no profile: runs on profiles skip them only if
    # they also have no rows (they all have rows).
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("profile_path", sa.String(length=500), nullable=True))
        batch_op.alter_column("path", existing_type=sa.String(length=500), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.alter_column("path", existing_type=sa.String(length=500), nullable=False)
        batch_op.drop_column("profile_path")
