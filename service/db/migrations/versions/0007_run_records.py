"""run_records: a run's params and, for drift runs, the distributions it compared

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # Runs finished before this revision have no row: their pages show the monitor's params now
    # and no distribution plots.
    op.create_table(
        "run_records",
        sa.Column("run_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("params", _json(), nullable=False),
        sa.Column("distributions", _json(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_run_records_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_records")),
    )


def downgrade() -> None:
    op.drop_table("run_records")
