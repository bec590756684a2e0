"""growth: customer metrics, tier overrides, redemption cost, revoked OAuth tokens

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.columns

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("expires_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    with op.batch_alter_table("revoked_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revoked_tokens_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_revoked_tokens_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "customer_metrics",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("evaluated_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary_cents", sa.BigInteger(), nullable=False),
        sa.Column("annual_spend_cents", sa.BigInteger(), nullable=False),
        sa.Column("annual_transactions", sa.Integer(), nullable=False),
        sa.Column("churn_score", sa.Float(), nullable=False),
        sa.Column("churn_reasons", sa.JSON(), nullable=False),
        sa.Column("category_spend", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "tier_override_until", models.columns.UTCDateTime(timezone=True), nullable=True
            )
        )

    with op.batch_alter_table("offer_assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("benefit_cents", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("offer_assignments", schema=None) as batch_op:
        batch_op.drop_column("benefit_cents")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("tier_override_until")

    op.drop_table("customer_metrics")
    with op.batch_alter_table("revoked_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_tokens_expires_at"))
        batch_op.drop_index(batch_op.f("ix_revoked_tokens_client_id"))

    op.drop_table("revoked_tokens")
