"""metric rollups: hourly aggregates kept after retention deletes the runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dqm.service.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_rollups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=True),
        sa.Column("bucket_start", dqm.service.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("minimum", sa.Float(), nullable=True),
        sa.Column("maximum", sa.Float(), nullable=True),
        sa.Column("drifted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitors.id"],
            name=op.f("fk_metric_rollups_monitor_id_monitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_rollups")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_metric_rollups_series",
        "metric_rollups",
        ["monitor_id", "name", "column", "bucket_start"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_metric_rollups_series", table_name="metric_rollups")
    op.drop_table("metric_rollups")
