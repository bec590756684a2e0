"""segments: saved segments (named customer filters) and the customer_metrics indexes the
filters on churn score, spend and recency use

Revision ID: 0011_segments
Revises: 0010_collections_risk
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.columns

revision: str = "0011_segments"
down_revision: str | None = "0010_collections_risk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_segments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("saved_segments", schema=None) as batch_op:
        batch_op.create_index("ix_saved_segments_page", ["created_at", "id"], unique=False)
    with op.batch_alter_table("customer_metrics", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_metrics_churn_score", ["churn_score", "customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_customer_metrics_monetary", ["monetary_cents", "customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_customer_metrics_recency", ["recency_days", "customer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_metrics", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_metrics_recency")
        batch_op.drop_index("ix_customer_metrics_monetary")
        batch_op.drop_index("ix_customer_metrics_churn_score")
    with op.batch_alter_table("saved_segments", schema=None) as batch_op:
        batch_op.drop_index("ix_saved_segments_page")
    op.drop_table("saved_segments")
