"""customer_counts: customers per (branch, tier, lifecycle stage), kept by triggers on customers

The growth KPIs read these counts instead of counting ``customers`` per request (issue 17).
Triggers keep them in the writer's transaction, whatever writes: on PostgreSQL one trigger
per statement over its transition tables (a bulk INSERT or a set-based UPDATE of 100,000
customers is one grouped upsert, and an UPDATE that changes none of the three columns
writes nothing); on SQLite, which has row triggers only, one per row. The upgrade backfills
the counts of the customers already there.

A later migration that rebuilds ``customers`` on SQLite (``batch_alter_table`` copies the
table) drops its triggers and must create them again: ``tests/migrations`` checks that they
exist after migrating.

Revision ID: 0019_customer_counts
Revises: 0018_erasure
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_customer_counts"
down_revision: str | None = "0018_erasure"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "branch_id, tier_id, lifecycle_stage"
BACKFILL = (
    f"INSERT INTO customer_counts ({KEY}, customers) "
    f"SELECT {KEY}, COUNT(*) FROM customers GROUP BY {KEY}"
)

# PostgreSQL: the signed change per group, then one upsert in key order (so two writers
# lock the rows they share in the same order and cannot deadlock on them).
_PG_UPSERT = (
    f"INSERT INTO customer_counts AS kept ({KEY}, customers) "
    f"SELECT {KEY}, SUM(delta) FROM ({{rows}}) AS change GROUP BY {KEY} "
    f"HAVING SUM(delta) <> 0 ORDER BY {KEY} "
    f"ON CONFLICT ({KEY}) DO UPDATE SET customers = kept.customers + excluded.customers"
)
_ADDED = f"SELECT {KEY}, 1 AS delta FROM added"
_REMOVED = f"SELECT {KEY}, -1 AS delta FROM removed"
# trigger name → (event, transition tables, the rows of its change)
_PG_TRIGGERS = {
    "customer_counts_on_insert": ("INSERT", "NEW TABLE AS added", _ADDED),
    "customer_counts_on_delete": ("DELETE", "OLD TABLE AS removed", _REMOVED),
    "customer_counts_on_update": (
        "UPDATE",
        "OLD TABLE AS removed NEW TABLE AS added",
        f"{_ADDED} UNION ALL {_REMOVED}",
    ),
}


def _postgres_upgrade() -> list[str]:
    statements = []
    for name, (event, tables, rows) in _PG_TRIGGERS.items():
        body = _PG_UPSERT.format(rows=rows)
        statements += [
            f"CREATE FUNCTION {name}() RETURNS trigger AS $$ "
            f"BEGIN {body}; RETURN NULL; END $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {name} AFTER {event} ON customers REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
        ]
    return statements


def _postgres_downgrade() -> list[str]:
    return [
        statement
        for name in _PG_TRIGGERS
        for statement in (
            f"DROP TRIGGER IF EXISTS {name} ON customers",
            f"DROP FUNCTION IF EXISTS {name}()",
        )
    ]


def _sqlite_add(row: str) -> str:
    return (
        f"INSERT INTO customer_counts ({KEY}, customers) "
        f"VALUES ({row}.branch_id, {row}.tier_id, {row}.lifecycle_stage, 1) "
        f"ON CONFLICT ({KEY}) DO UPDATE SET customers = customers + 1;"
    )


def _sqlite_subtract(row: str) -> str:
    return (
        "UPDATE customer_counts SET customers = customers - 1 "
        f"WHERE branch_id = {row}.branch_id AND tier_id = {row}.tier_id "
        f"AND lifecycle_stage = {row}.lifecycle_stage;"
    )


_CHANGED = " OR ".join(
    f"OLD.{column} IS NOT NEW.{column}" for column in ("branch_id", "tier_id", "lifecycle_stage")
)
SQLITE_TRIGGERS = {
    "customer_counts_on_insert": f"AFTER INSERT ON customers BEGIN {_sqlite_add('NEW')} END",
    "customer_counts_on_delete": f"AFTER DELETE ON customers BEGIN {_sqlite_subtract('OLD')} END",
    "customer_counts_on_update": (
        f"AFTER UPDATE OF {KEY} ON customers WHEN {_CHANGED} "
        f"BEGIN {_sqlite_subtract('OLD')} {_sqlite_add('NEW')} END"
    ),
}


def upgrade() -> None:
    op.create_table(
        "customer_counts",
        sa.Column("branch_id", sa.Uuid(), nullable=False),
        sa.Column("tier_id", sa.Uuid(), nullable=False),
        sa.Column("lifecycle_stage", sa.String(length=16), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("branch_id", "tier_id", "lifecycle_stage"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Counted and kept under one lock: no customer written meanwhile is missed or twice.
        op.execute("LOCK TABLE customers IN SHARE ROW EXCLUSIVE MODE")
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
    op.drop_table("customer_counts")
