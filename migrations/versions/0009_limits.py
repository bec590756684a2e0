"""limits: credit-limit change requests (maker-checker) and the cards' limit history

At most one pending request per card: a partial unique index on both databases.

Revision ID: 0009_limits
Revises: 0008_statements
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.columns

revision: str = "0009_limits"
down_revision: str | None = "0008_statements"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_limit_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("branch_id", sa.Uuid(), nullable=False),
        sa.Column("requester_kind", sa.String(length=16), nullable=False),
        sa.Column("requester_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("current_limit_cents", sa.Integer(), nullable=False),
        sa.Column("requested_limit_cents", sa.Integer(), nullable=False),
        sa.Column("temporary_until", sa.Date(), nullable=True),
        sa.Column("reason_enc", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("decision_reason_enc", sa.LargeBinary(), nullable=True),
        sa.Column("decided_at", models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revert_to_cents", sa.Integer(), nullable=True),
        sa.Column("ended_at", models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"],
            ["branches.id"],
        ),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["cards.id"],
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("credit_limit_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_limit_requests_branch_order", ["branch_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_credit_limit_requests_card_order", ["card_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_limit_requests_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_limit_requests_status"), ["status"], unique=False
        )
        batch_op.create_index(
            "uq_credit_limit_requests_one_pending",
            ["card_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    op.create_table(
        "credit_limit_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("old_limit_cents", sa.Integer(), nullable=False),
        sa.Column("new_limit_cents", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("temporary_until", sa.Date(), nullable=True),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["cards.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["credit_limit_requests.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("credit_limit_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_limit_changes_card_order", ["card_id", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("credit_limit_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_limit_changes_card_order")

    op.drop_table("credit_limit_changes")
    with op.batch_alter_table("credit_limit_requests", schema=None) as batch_op:
        batch_op.drop_index("uq_credit_limit_requests_one_pending")
        batch_op.drop_index(batch_op.f("ix_credit_limit_requests_status"))
        batch_op.drop_index(batch_op.f("ix_credit_limit_requests_customer_id"))
        batch_op.drop_index("ix_credit_limit_requests_card_order")
        batch_op.drop_index("ix_credit_limit_requests_branch_order")

    op.drop_table("credit_limit_requests")
