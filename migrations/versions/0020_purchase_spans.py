"""purchase_spans: each customer's first and last card purchase, kept by triggers

Counting the customers active in a range reads these spans and probes transactions only for
the customers whose purchases run from before the range to after it (issue 17). Triggers
keep them in the writer's transaction, whatever writes:

- a purchase inserted widens its customer's span (PostgreSQL: one grouped upsert per
  statement over its transition table; SQLite: one per row);
- a purchase deleted, or a transaction whose card, kind or time changes, and a card given to
  another customer, count the span of each customer concerned again from their transactions.

The upgrade backfills the spans of the purchases already there. On SQLite a later
``batch_alter_table`` of ``transactions`` or ``cards`` drops these triggers and must create
them again (``tests/migrations`` checks that they exist).

Revision ID: 0020_purchase_spans
Revises: 0019_customer_counts
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.columns

revision: str = "0020_purchase_spans"
down_revision: str | None = "0019_customer_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "customer_id, first_purchase_at, last_purchase_at"
SPANS = (
    f"INSERT INTO purchase_spans ({COLUMNS}) "
    "SELECT k.customer_id, MIN(t.occurred_at), MAX(t.occurred_at) "
    "FROM transactions AS t JOIN cards AS k ON k.id = t.card_id "
    "WHERE t.kind = 'purchase'{among} GROUP BY k.customer_id"
)
BACKFILL = SPANS.format(among="")

# PostgreSQL, per statement: the customers concerned, as a query over the transition tables.
_PG_TRANSACTIONS_CHANGED = (
    "SELECT k.customer_id FROM removed AS r JOIN added AS a ON a.id = r.id "
    "JOIN cards AS k ON k.id IN (r.card_id, a.card_id) "
    "WHERE (r.kind = 'purchase' OR a.kind = 'purchase') "
    "AND (r.card_id, r.kind, r.occurred_at) IS DISTINCT FROM (a.card_id, a.kind, a.occurred_at)"
)
_PG_TRANSACTIONS_REMOVED = (
    "SELECT k.customer_id FROM removed AS r JOIN cards AS k ON k.id = r.card_id "
    "WHERE r.kind = 'purchase'"
)
_PG_CARDS_MOVED = (
    "SELECT x.customer_id FROM removed AS r JOIN added AS a ON a.id = r.id "
    "CROSS JOIN LATERAL (VALUES (r.customer_id), (a.customer_id)) AS x (customer_id) "
    "WHERE r.customer_id IS DISTINCT FROM a.customer_id"
)
_PG_WIDEN = (
    f"INSERT INTO purchase_spans AS kept ({COLUMNS}) "
    "SELECT k.customer_id, MIN(a.occurred_at), MAX(a.occurred_at) "
    "FROM added AS a JOIN cards AS k ON k.id = a.card_id WHERE a.kind = 'purchase' "
    "GROUP BY k.customer_id ORDER BY k.customer_id "
    "ON CONFLICT (customer_id) DO UPDATE SET "
    "first_purchase_at = LEAST(kept.first_purchase_at, excluded.first_purchase_at), "
    "last_purchase_at = GREATEST(kept.last_purchase_at, excluded.last_purchase_at) "
    # A span the new purchases fall inside is left as it is: no new row version to write.
    "WHERE excluded.first_purchase_at < kept.first_purchase_at "
    "OR excluded.last_purchase_at > kept.last_purchase_at"
)


def _pg_recount(concerned: str) -> str:
    among = f" AND k.customer_id IN ({concerned})"
    return (
        f"DELETE FROM purchase_spans WHERE customer_id IN ({concerned}); "
        f"{SPANS.format(among=among)}"
    )


# trigger name → (table, event, transition tables, the function's body)
_PG_TRIGGERS = {
    "purchase_spans_on_insert": ("transactions", "INSERT", "NEW TABLE AS added", _PG_WIDEN),
    "purchase_spans_on_delete": (
        "transactions",
        "DELETE",
        "OLD TABLE AS removed",
        _pg_recount(_PG_TRANSACTIONS_REMOVED),
    ),
    "purchase_spans_on_update": (
        "transactions",
        "UPDATE",
        "OLD TABLE AS removed NEW TABLE AS added",
        _pg_recount(_PG_TRANSACTIONS_CHANGED),
    ),
    "purchase_spans_on_card_move": (
        "cards",
        "UPDATE",
        "OLD TABLE AS removed NEW TABLE AS added",
        _pg_recount(_PG_CARDS_MOVED),
    ),
}


def _postgres_upgrade() -> list[str]:
    statements = []
    for name, (table, event, tables, body) in _PG_TRIGGERS.items():
        statements += [
            f"CREATE FUNCTION {name}() RETURNS trigger AS $$ "
            f"BEGIN {body}; RETURN NULL; END $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        ]
    return statements


def _postgres_downgrade() -> list[str]:
    return [
        statement
        for name, (table, *_) in _PG_TRIGGERS.items()
        for statement in (
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"DROP FUNCTION IF EXISTS {name}()",
        )
    ]


def _sqlite_recount(customer: str) -> str:
    return (
        f"DELETE FROM purchase_spans WHERE customer_id = {customer}; "
        f"{SPANS.format(among=f' AND k.customer_id = {customer}')};"
    )


def _card_owner(card: str) -> str:
    return f"(SELECT customer_id FROM cards WHERE id = {card})"


_SQLITE_WIDEN = (
    f"INSERT INTO purchase_spans ({COLUMNS}) "
    "SELECT customer_id, NEW.occurred_at, NEW.occurred_at FROM cards WHERE id = NEW.card_id "
    "ON CONFLICT (customer_id) DO UPDATE SET "
    "first_purchase_at = MIN(first_purchase_at, excluded.first_purchase_at), "
    "last_purchase_at = MAX(last_purchase_at, excluded.last_purchase_at) "
    "WHERE excluded.first_purchase_at < first_purchase_at "
    "OR excluded.last_purchase_at > last_purchase_at;"
)
SQLITE_TRIGGERS = {
    "purchase_spans_on_insert": (
        f"AFTER INSERT ON transactions WHEN NEW.kind = 'purchase' BEGIN {_SQLITE_WIDEN} END"
    ),
    "purchase_spans_on_delete": (
        "AFTER DELETE ON transactions WHEN OLD.kind = 'purchase' "
        f"BEGIN {_sqlite_recount(_card_owner('OLD.card_id'))} END"
    ),
    "purchase_spans_on_update": (
        "AFTER UPDATE OF card_id, kind, occurred_at ON transactions "
        "WHEN OLD.kind = 'purchase' OR NEW.kind = 'purchase' "
        f"BEGIN {_sqlite_recount(_card_owner('OLD.card_id'))} "
        f"{_sqlite_recount(_card_owner('NEW.card_id'))} END"
    ),
    "purchase_spans_on_card_move": (
        "AFTER UPDATE OF customer_id ON cards WHEN OLD.customer_id IS NOT NEW.customer_id "
        f"BEGIN {_sqlite_recount('OLD.customer_id')} {_sqlite_recount('NEW.customer_id')} END"
    ),
}


def upgrade() -> None:
    op.create_table(
        "purchase_spans",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("first_purchase_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_purchase_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Counted and kept under one lock: no purchase written meanwhile is missed.
        op.execute("LOCK TABLE transactions, cards IN SHARE ROW EXCLUSIVE MODE")
        statements = _postgres_upgrade()
    else:
        statements = [f"CREATE TRIGGER {name} {body}" for name, body in SQLITE_TRIGGERS.items()]
    for statement in [*statements, BACKFILL]:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        statements = _postgres_downgrade()
    else:
        statements = [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS]
    for statement in statements:
        op.execute(statement)
    op.drop_table("purchase_spans")
