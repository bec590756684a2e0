"""page indexes: customers newest first (per branch and overall), a customer's cards and
interactions in page order, so a page reads an index range instead of sorting the branch

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_customers_branch_page", "customers", ["branch_id", "created_at", "id"]),
    ("ix_customers_page", "customers", ["created_at", "id"]),
    ("ix_cards_customer_order", "cards", ["customer_id", "created_at", "id"]),
    ("ix_interactions_customer_page", "interactions", ["customer_id", "occurred_at", "id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
