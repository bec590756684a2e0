"""name index: a blind index of the customer's normalised full name, for customersByName

Values are keyed HMACs that only the application can compute (the key is in the key ring),
so existing rows are indexed by `cardcrm customers index-names`, not here.

Revision ID: 0006_name_index
Revises: 0005_audit_anchoring
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_name_index"
down_revision: str | None = "0005_audit_anchoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("name_bidx", sa.LargeBinary(), nullable=True))
    op.create_index("ix_customers_name_bidx", "customers", ["name_bidx"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_customers_name_bidx", table_name="customers")
    op.drop_column("customers", "name_bidx")
