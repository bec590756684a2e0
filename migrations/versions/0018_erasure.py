"""erasure: the append-only histories (card_events, complaint_events) let erasure set their
sealed note to NULL, and nothing else

A card's and a complaint's history are append-only: triggers refuse every UPDATE and
DELETE. Erasing a customer (issue 16) must empty the sealed free text of their history rows
too (``reason_enc``, ``note_enc``), so the UPDATE trigger now refuses an UPDATE that sets any
other column, or sets the note to anything but NULL. DELETE stays refused.

Revision ID: 0018_erasure
Revises: 0017_privacy
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018_erasure"
down_revision: str | None = "0017_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table → (its sealed note, every other column)
HISTORIES = {
    "card_events": (
        "reason_enc",
        ("id", "card_id", "action", "actor_kind", "actor_id", "from_status", "to_status",
         "created_at"),
    ),
    "complaint_events": (
        "note_enc",
        ("id", "complaint_id", "action", "actor_kind", "actor_id", "from_status", "to_status",
         "created_at"),
    ),
}


def _refuse_sqlite(table: str) -> str:
    return f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"


def _sqlite_upgrade(table: str, note: str, others: Sequence[str]) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_update",
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE OF {', '.join(others)} ON {table} "
        + _refuse_sqlite(table),
        f"CREATE TRIGGER {table}_note_only_erased BEFORE UPDATE OF {note} ON {table} "
        f"WHEN NEW.{note} IS NOT NULL " + _refuse_sqlite(table),
    ]


def _sqlite_downgrade(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_note_only_erased",
        f"DROP TRIGGER IF EXISTS {table}_no_update",
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} " + _refuse_sqlite(table),
    ]


def _postgres_upgrade(table: str, note: str, others: Sequence[str]) -> list[str]:
    function = f"{table}_append_only()"
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}",
        f"CREATE TRIGGER {table}_no_change BEFORE DELETE OR UPDATE OF {', '.join(others)} "
        f"ON {table} FOR EACH ROW EXECUTE FUNCTION {function}",
        f"CREATE TRIGGER {table}_note_only_erased BEFORE UPDATE OF {note} ON {table} "
        f"FOR EACH ROW WHEN (NEW.{note} IS NOT NULL) EXECUTE FUNCTION {function}",
    ]


def _postgres_downgrade(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_note_only_erased ON {table}",
        f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}",
        f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
    ]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, (note, others) in HISTORIES.items():
        statements = (
            _postgres_upgrade(table, note, others)
            if postgres
            else _sqlite_upgrade(table, note, others)
        )
        for statement in statements:
            op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in HISTORIES:
        for statement in _postgres_downgrade(table) if postgres else _sqlite_downgrade(table):
            op.execute(statement)
