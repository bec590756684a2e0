"""points: the points ledger, the rewards catalogue and its redemptions, and each tier's
points multiplier

Revision ID: 0012_points
Revises: 0011_segments
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.columns

revision: str = "0012_points"
down_revision: str | None = "0011_segments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The multipliers the demo tiers' benefits have always promised ("积分 1.2x" ...).
TIER_MULTIPLIERS = {"silver": 120, "gold": 150, "platinum": 200, "diamond": 300}


def upgrade() -> None:
    with op.batch_alter_table("tiers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "points_multiplier_percent", sa.Integer(), nullable=False, server_default="100"
            )
        )
    tiers = sa.table("tiers", sa.column("code", sa.String), sa.column("points_multiplier_percent"))
    for code, percent in TIER_MULTIPLIERS.items():
        op.execute(
            tiers.update().where(tiers.c.code == code).values(points_multiplier_percent=percent)
        )

    op.create_table(
        "rewards",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("points_price", sa.BigInteger(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("starts_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["staff_users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.create_index("ix_rewards_order", ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rewards_status"), ["status"], unique=False)

    op.create_table(
        "reward_redemptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reward_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["reward_id"], ["rewards.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "idempotency_key"),
    )
    with op.batch_alter_table("reward_redemptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reward_redemptions_reward_time", ["reward_id", "created_at"], unique=False
        )

    op.create_table(
        "points_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("card_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column("redemption_id", sa.Uuid(), nullable=True),
        sa.Column("occurred_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("natural_key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["redemption_id"], ["reward_redemptions.id"]),
        sa.ForeignKeyConstraint(["transaction_id"], ["transactions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("natural_key"),
    )
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.create_index("ix_points_entries_card", ["card_id"], unique=False)
        batch_op.create_index(
            "ix_points_entries_customer_order", ["customer_id", "occurred_at", "id"], unique=False
        )
        batch_op.create_index("ix_points_entries_kind_time", ["kind", "occurred_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_points_entries_kind_time")
        batch_op.drop_index("ix_points_entries_customer_order")
        batch_op.drop_index("ix_points_entries_card")

    op.drop_table("points_entries")
    with op.batch_alter_table("reward_redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_reward_redemptions_reward_time")

    op.drop_table("reward_redemptions")
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rewards_status"))
        batch_op.drop_index("ix_rewards_order")

    op.drop_table("rewards")
    with op.batch_alter_table("tiers", schema=None) as batch_op:
        batch_op.drop_column("points_multiplier_percent")
