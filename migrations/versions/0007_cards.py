"""cards: the card workflow's blocked status (a VARCHAR value, no DDL), replacement links
between cards, and the append-only card history

Revision ID: 0007_cards
Revises: 0006_name_index
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.columns

revision: str = "0007_cards"
down_revision: str | None = "0006_name_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HISTORY_APPEND_ONLY_SQLITE = (
    "CREATE TRIGGER card_events_no_update BEFORE UPDATE ON card_events "
    "BEGIN SELECT RAISE(ABORT, 'card_events is append-only'); END",
    "CREATE TRIGGER card_events_no_delete BEFORE DELETE ON card_events "
    "BEGIN SELECT RAISE(ABORT, 'card_events is append-only'); END",
)
HISTORY_APPEND_ONLY_POSTGRES = (
    "CREATE FUNCTION card_events_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'card_events is append-only'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER card_events_no_change BEFORE UPDATE OR DELETE ON card_events "
    "FOR EACH ROW EXECUTE FUNCTION card_events_append_only()",
)


def upgrade() -> None:
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaces_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("replaced_by_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key("fk_cards_replaces_id", "cards", ["replaces_id"], ["id"])
        batch_op.create_foreign_key("fk_cards_replaced_by_id", "cards", ["replaced_by_id"], ["id"])
    op.create_table(
        "card_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("card_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("reason_enc", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_card_events_card_order", "card_events", ["card_id", "created_at", "id"], unique=False
    )
    is_postgres = op.get_bind().dialect.name == "postgresql"
    for statement in HISTORY_APPEND_ONLY_POSTGRES if is_postgres else HISTORY_APPEND_ONLY_SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS card_events_no_change ON card_events")
        op.execute("DROP FUNCTION IF EXISTS card_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS card_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS card_events_no_delete")
    op.drop_index("ix_card_events_card_order", table_name="card_events")
    op.drop_table("card_events")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_constraint("fk_cards_replaced_by_id", type_="foreignkey")
        batch_op.drop_constraint("fk_cards_replaces_id", type_="foreignkey")
        batch_op.drop_column("replaced_by_id")
        batch_op.drop_column("replaces_id")
