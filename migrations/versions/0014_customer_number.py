"""customers.customer_number: the bank's own customer number, sealed, with a unique blind index

``cardcrm import customers`` is idempotent on it. Existing customers have none (null).

Revision ID: 0014_customer_number
Revises: 0013_outreach
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_customer_number"
down_revision: str | None = "0013_outreach"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIQUE = "uq_customers_customer_number_bidx"


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_number_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("customer_number_bidx", sa.LargeBinary(), nullable=True))
        batch_op.create_unique_constraint(UNIQUE, ["customer_number_bidx"])


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint(UNIQUE, type_="unique")
        batch_op.drop_column("customer_number_bidx")
        batch_op.drop_column("customer_number_enc")
