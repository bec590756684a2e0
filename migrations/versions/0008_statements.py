"""statements: a card's statement day and grace period, its overdue standing, transaction
kinds (purchase, repayment, refund) and the statements table

Existing cards close on day 1 with 20 days to pay and start current; existing transactions
are purchases, which is all they could be.

Revision ID: 0008_statements
Revises: 0007_cards
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.columns

revision: str = "0008_statements"
down_revision: str | None = "0007_cards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CARD_COLUMNS = ("statement_day", "due_days", "days_past_due", "overdue_bucket")


def upgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("statement_day", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("due_days", sa.Integer(), nullable=False, server_default="20")
        )
        batch_op.add_column(
            sa.Column("days_past_due", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "overdue_bucket", sa.String(length=8), nullable=False, server_default="current"
            )
        )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="purchase")
        )
    op.create_table(
        "statements",
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("cycle_end", sa.Date(), nullable=False),
        sa.Column("cycle_start", sa.Date(), nullable=False),
        sa.Column("opens_at", models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closes_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("previous_balance_cents", sa.Integer(), nullable=False),
        sa.Column("purchases_cents", sa.Integer(), nullable=False),
        sa.Column("refunds_cents", sa.Integer(), nullable=False),
        sa.Column("repayments_cents", sa.Integer(), nullable=False),
        sa.Column("balance_cents", sa.Integer(), nullable=False),
        sa.Column("minimum_payment_cents", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("due_ends_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paid_by_due", sa.Boolean(), nullable=True),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"]),
        sa.PrimaryKeyConstraint("card_id", "cycle_end"),
    )
    op.create_index("ix_statements_due", "statements", ["due_date", "paid_by_due"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_statements_due", table_name="statements")
    op.drop_table("statements")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        for name in reversed(CARD_COLUMNS):
            batch_op.drop_column(name)
