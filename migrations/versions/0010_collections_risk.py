"""collections and risk: collection cases and contacts, repayment reminders, risk alerts,
risk grade history, the override flag on customers and the computed grade in their metrics

Revision ID: 0010_collections_risk
Revises: 0009_limits
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.columns

revision: str = "0010_collections_risk"
down_revision: str | None = "0009_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_grade_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("from_grade", sa.String(length=2), nullable=True),
        sa.Column("to_grade", sa.String(length=2), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("risk_grade_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_risk_grade_history_customer_order",
            ["customer_id", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "collection_cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("branch_id", sa.Uuid(), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("bucket", sa.String(length=8), nullable=False),
        sa.Column("opening_bucket", sa.String(length=8), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("overdue_cents", sa.BigInteger(), nullable=False),
        sa.Column("promise_amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("promise_date", sa.Date(), nullable=True),
        sa.Column("broken_promises", sa.Integer(), nullable=False),
        sa.Column("last_contact_at", models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opened_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.String(length=16), nullable=True),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["staff_users.id"],
        ),
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
    with op.batch_alter_table("collection_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_collection_cases_assignee_id"), ["assignee_id"], unique=False
        )
        batch_op.create_index(
            "ix_collection_cases_branch_order", ["branch_id", "opened_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_collection_cases_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_collection_cases_status_bucket", ["status", "bucket"], unique=False
        )
        batch_op.create_index(
            "uq_collection_cases_one_open",
            ["card_id"],
            unique=True,
            sqlite_where=sa.text("status <> 'closed'"),
            postgresql_where=sa.text("status <> 'closed'"),
        )

    op.create_table(
        "repayment_reminders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("cycle_end", sa.Date(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("branch_id", sa.Uuid(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("remind_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("minimum_payment_cents", sa.BigInteger(), nullable=False),
        sa.Column("risk_grade", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sent_at", models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
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
    with op.batch_alter_table("repayment_reminders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_repayment_reminders_branch_day", ["branch_id", "remind_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_repayment_reminders_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "uq_repayment_reminders_once", ["card_id", "cycle_end", "remind_on"], unique=True
        )

    op.create_table(
        "risk_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("branch_id", sa.Uuid(), nullable=False),
        sa.Column("card_id", sa.Uuid(), nullable=True),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("natural_key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("customer_answer", sa.String(length=16), nullable=True),
        sa.Column("answered_at", models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("resolution_note_enc", sa.LargeBinary(), nullable=True),
        sa.Column("resolved_at", models.columns.UTCDateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["transactions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("natural_key"),
    )
    with op.batch_alter_table("risk_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_risk_alerts_branch_order", ["branch_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_risk_alerts_card", ["card_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_risk_alerts_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index("ix_risk_alerts_order", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_risk_alerts_status", ["status"], unique=False)

    op.create_table(
        "collection_contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("interaction_id", sa.Uuid(), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("promise_amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("promise_date", sa.Date(), nullable=True),
        sa.Column("occurred_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["collection_cases.id"],
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("collection_contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_collection_contacts_case_order", ["case_id", "occurred_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_collection_contacts_customer_time", ["customer_id", "occurred_at"], unique=False
        )

    with op.batch_alter_table("customer_metrics", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("risk_grade", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True)
        )
        # Rows evaluated before this revision get no reasons; the model has no server default.
        batch_op.add_column(
            sa.Column("risk_reasons", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
    with op.batch_alter_table("customer_metrics", schema=None) as batch_op:
        batch_op.alter_column("risk_reasons", server_default=None)

    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("overdue_bucket", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "risk_grade_overridden", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_column("overdue_bucket")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("risk_grade_overridden")

    with op.batch_alter_table("customer_metrics", schema=None) as batch_op:
        batch_op.drop_column("risk_reasons")
        batch_op.drop_column("risk_grade")

    with op.batch_alter_table("collection_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_collection_contacts_customer_time")
        batch_op.drop_index("ix_collection_contacts_case_order")

    op.drop_table("collection_contacts")
    with op.batch_alter_table("risk_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_alerts_status")
        batch_op.drop_index("ix_risk_alerts_order")
        batch_op.drop_index(batch_op.f("ix_risk_alerts_customer_id"))
        batch_op.drop_index("ix_risk_alerts_card")
        batch_op.drop_index("ix_risk_alerts_branch_order")

    op.drop_table("risk_alerts")
    with op.batch_alter_table("repayment_reminders", schema=None) as batch_op:
        batch_op.drop_index("uq_repayment_reminders_once")
        batch_op.drop_index(batch_op.f("ix_repayment_reminders_customer_id"))
        batch_op.drop_index("ix_repayment_reminders_branch_day")

    op.drop_table("repayment_reminders")
    with op.batch_alter_table("collection_cases", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_collection_cases_one_open",
            sqlite_where=sa.text("status <> 'closed'"),
            postgresql_where=sa.text("status <> 'closed'"),
        )
        batch_op.drop_index("ix_collection_cases_status_bucket")
        batch_op.drop_index(batch_op.f("ix_collection_cases_customer_id"))
        batch_op.drop_index("ix_collection_cases_branch_order")
        batch_op.drop_index(batch_op.f("ix_collection_cases_assignee_id"))

    op.drop_table("collection_cases")
    with op.batch_alter_table("risk_grade_history", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_grade_history_customer_order")

    op.drop_table("risk_grade_history")
