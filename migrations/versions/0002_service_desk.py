"""service desk: complaint acknowledgement and escalation, append-only timeline

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.columns

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMELINE_APPEND_ONLY_SQLITE = (
    "CREATE TRIGGER complaint_events_no_update BEFORE UPDATE ON complaint_events "
    "BEGIN SELECT RAISE(ABORT, 'complaint_events is append-only'); END",
    "CREATE TRIGGER complaint_events_no_delete BEFORE DELETE ON complaint_events "
    "BEGIN SELECT RAISE(ABORT, 'complaint_events is append-only'); END",
)
TIMELINE_APPEND_ONLY_POSTGRES = (
    "CREATE FUNCTION complaint_events_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'complaint_events is append-only'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER complaint_events_no_change BEFORE UPDATE OR DELETE ON complaint_events "
    "FOR EACH ROW EXECUTE FUNCTION complaint_events_append_only()",
)


def upgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("acknowledged_at", models.columns.UTCDateTime(timezone=True), nullable=True)
        )
    is_postgres = op.get_bind().dialect.name == "postgresql"
    for statement in TIMELINE_APPEND_ONLY_POSTGRES if is_postgres else TIMELINE_APPEND_ONLY_SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS complaint_events_no_change ON complaint_events")
        op.execute("DROP FUNCTION IF EXISTS complaint_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS complaint_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS complaint_events_no_delete")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("escalation_level")
