"""admin: one-time passwords and versions for staff, branches, merchants and tiers, and
tier terms (a tier's qualifying thresholds, versioned by the day they take effect)

Revision ID: 0016_admin
Revises: 0015_events
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.columns

revision: str = "0016_admin"
down_revision: str | None = "0015_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tier_terms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tier_id", sa.Uuid(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("min_annual_spend_cents", sa.Integer(), nullable=False),
        sa.Column("min_transactions", sa.Integer(), nullable=False),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tier_id"],
            ["tiers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tier_id", "effective_from"),
    )
    with op.batch_alter_table("tier_terms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tier_terms_tier_id"), ["tier_id"], unique=False)

    with op.batch_alter_table("branches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))

    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False)
        )
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))

    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("must_change_password", sa.Boolean(), server_default="false", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "password_changed_at", models.columns.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))

    with op.batch_alter_table("tiers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("tiers", schema=None) as batch_op:
        batch_op.drop_column("version")

    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("must_change_password")

    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("is_active")

    with op.batch_alter_table("branches", schema=None) as batch_op:
        batch_op.drop_column("version")

    with op.batch_alter_table("tier_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tier_terms_tier_id"))

    op.drop_table("tier_terms")
