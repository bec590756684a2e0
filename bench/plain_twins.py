"""Plain-text twins of the benchmark's data, in schema ``plain``, for the peers that do no
decryption: PostGraphile serves them, and the bare handler's ``/w1-plain`` reads them.

    python -m bench.plain_twins postgresql+asyncpg://postgres@127.0.0.1:5432/db --master-key ...

Every twin holds the same rows as its ``public`` table, with the clear values of the sealed
columns: a twin column ``name`` is ``customers.name_enc`` opened with the database's own key
ring, ``segments`` the JSON list as ``text[]``; other columns are copied as they are. Which
columns a twin has is written once, in ``TABLES`` below; the loader reads them back from the
catalog. Only what W1 and W2 show is kept, plus what recommendedOffers' eligibility reads.

The relations PostGraphile exposes come from the foreign keys, and its orderings from the
columns: ``RELATIONS`` adds them after the load, with the indexes of the ``public`` tables
and the one W1 pages by (customers by branch, newest first). Two computed columns stand in
for cardcrm's computed fields: ``Complaint.isOverdue`` and ``Customer.recommendedOffers``
(the same eligibility and ranking as ``resolvers.growth.recommendation``, in SQL).

Rebuilding drops the schema first, so it can run again on the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench.customer_keys import open_customer_keys, owners
from bench.dataset import bench_settings
from core.database import Database
from core.encryption import KeyRing, aad_for
from models.key_store import load_key_ring, master_key_from_settings

SCHEMA = "plain"
BATCH = 20_000

TABLES = """
DROP SCHEMA IF EXISTS plain CASCADE;
CREATE SCHEMA plain;
CREATE TABLE plain.branches (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE plain.tiers (
    id uuid PRIMARY KEY, code text NOT NULL UNIQUE, name text NOT NULL, rank int NOT NULL UNIQUE
);
CREATE TABLE plain.merchants (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE plain.customers (
    id uuid PRIMARY KEY,
    branch_id uuid NOT NULL,
    tier_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    name text,
    phone text,
    id_number text,
    email text,
    birth_date date,
    gender text NOT NULL,
    lifecycle_stage text NOT NULL,
    segments text[] NOT NULL,
    tags text[] NOT NULL,
    erased_at timestamptz
);
CREATE TABLE plain.cards (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    pan text,
    last4 text NOT NULL,
    product text NOT NULL,
    status text NOT NULL,
    credit_limit_cents int NOT NULL
);
CREATE TABLE plain.interactions (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL,
    channel text NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    occurred_at timestamptz NOT NULL,
    notes text
);
CREATE TABLE plain.complaints (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL,
    branch_id uuid NOT NULL,
    assignee_id uuid,
    category text NOT NULL,
    severity text NOT NULL,
    status text NOT NULL,
    due_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    description text
);
CREATE TABLE plain.complaint_events (
    id uuid PRIMARY KEY,
    complaint_id uuid NOT NULL,
    action text NOT NULL,
    actor_kind text NOT NULL,
    to_status text,
    created_at timestamptz NOT NULL
);
CREATE TABLE plain.offers (
    id uuid PRIMARY KEY,
    merchant_id uuid NOT NULL,
    title text NOT NULL,
    category text NOT NULL,
    benefit_type text NOT NULL,
    benefit_value int NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    quota int,
    min_spend_cents int NOT NULL,
    eligible_tiers text[] NOT NULL,
    eligible_stages text[] NOT NULL,
    eligible_segments text[] NOT NULL,
    spend_categories text[] NOT NULL,
    status text NOT NULL
);
CREATE TABLE plain.offer_assignments (
    id uuid PRIMARY KEY, offer_id uuid NOT NULL, customer_id uuid NOT NULL, status text NOT NULL
);
CREATE TABLE plain.customer_metrics (
    customer_id uuid PRIMARY KEY, monetary_cents bigint NOT NULL, category_spend jsonb NOT NULL
);
"""

RELATIONS = """
ALTER TABLE plain.customers
    ADD FOREIGN KEY (branch_id) REFERENCES plain.branches,
    ADD FOREIGN KEY (tier_id) REFERENCES plain.tiers;
ALTER TABLE plain.cards ADD FOREIGN KEY (customer_id) REFERENCES plain.customers;
ALTER TABLE plain.interactions ADD FOREIGN KEY (customer_id) REFERENCES plain.customers;
ALTER TABLE plain.complaints
    ADD FOREIGN KEY (customer_id) REFERENCES plain.customers,
    ADD FOREIGN KEY (branch_id) REFERENCES plain.branches;
ALTER TABLE plain.complaint_events ADD FOREIGN KEY (complaint_id) REFERENCES plain.complaints;
ALTER TABLE plain.offers ADD FOREIGN KEY (merchant_id) REFERENCES plain.merchants;
ALTER TABLE plain.offer_assignments
    ADD FOREIGN KEY (offer_id) REFERENCES plain.offers,
    ADD FOREIGN KEY (customer_id) REFERENCES plain.customers,
    ADD UNIQUE (offer_id, customer_id);
ALTER TABLE plain.customer_metrics ADD FOREIGN KEY (customer_id) REFERENCES plain.customers;

-- The indexes of the public tables (minus the blind indexes), with the orders cardcrm reads
-- in appended: PostGraphile 5 offers orderBy and condition only on indexed columns.
CREATE INDEX ON plain.customers (branch_id, created_at DESC, id DESC);
CREATE INDEX ON plain.customers (tier_id);
CREATE INDEX ON plain.customers (lifecycle_stage);
CREATE INDEX ON plain.cards (customer_id, created_at, id);
CREATE INDEX ON plain.interactions (customer_id, occurred_at DESC, id DESC);
CREATE INDEX ON plain.interactions (occurred_at);
CREATE INDEX ON plain.complaints (branch_id, status, created_at DESC, id DESC);
CREATE INDEX ON plain.complaints (customer_id);
CREATE INDEX ON plain.complaints (assignee_id);
CREATE INDEX ON plain.complaints (status);
CREATE INDEX ON plain.complaint_events (complaint_id, created_at, id);
CREATE INDEX ON plain.offers (merchant_id);
CREATE INDEX ON plain.offers (status);
CREATE INDEX ON plain.offer_assignments (customer_id);

-- Complaint.isOverdue (resolvers.service_desk.sla.is_overdue).
CREATE FUNCTION plain.complaints_is_overdue(complaint plain.complaints) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT complaint.status NOT IN ('resolved', 'closed') AND now() > complaint.due_at
$$;

-- Customer.recommendedOffers (resolvers.growth.recommendation): the live offers the customer
-- is eligible for (resolvers.growth.eligibility.is_eligible), leaving out offers redeemed or
-- expired for them and full ones they do not hold, best spend affinity first.
CREATE TYPE plain.recommended_offer AS (
    affinity double precision,
    offer_id uuid,
    title text,
    merchant_name text,
    benefit_type text,
    benefit_value int,
    ends_at timestamptz
);
CREATE FUNCTION plain.customers_recommended_offers(customer plain.customers)
RETURNS SETOF plain.recommended_offer LANGUAGE sql STABLE AS $$
    SELECT
        CASE WHEN total.cents > 0 THEN least(affine.cents::float8 / total.cents, 1) ELSE 0 END,
        o.id, o.title, m.name, o.benefit_type, o.benefit_value, o.ends_at
    FROM plain.offers o
    JOIN plain.merchants m ON m.id = o.merchant_id
    JOIN plain.tiers t ON t.id = customer.tier_id
    LEFT JOIN plain.customer_metrics cm ON cm.customer_id = customer.id
    LEFT JOIN plain.offer_assignments held
        ON held.offer_id = o.id AND held.customer_id = customer.id
    CROSS JOIN LATERAL (
        SELECT coalesce(nullif(cm.monetary_cents, 0), (
            SELECT sum(value::bigint) FROM jsonb_each_text(cm.category_spend)
        ), 0)
    ) AS total(cents)
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(value::bigint), 0) FROM jsonb_each_text(cm.category_spend)
        WHERE key = ANY (o.spend_categories || o.category)
    ) AS affine(cents)
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(value::bigint), 0) FROM jsonb_each_text(cm.category_spend)
        WHERE key = ANY (o.spend_categories)
    ) AS in_rule(cents)
    WHERE o.status = 'active' AND o.starts_at <= now() AND o.ends_at > now()
      AND (held.id IS NULL OR held.status NOT IN ('redeemed', 'expired'))
      AND (held.id IS NOT NULL OR o.quota IS NULL
           OR (SELECT count(*) FROM plain.offer_assignments a WHERE a.offer_id = o.id) < o.quota)
      AND (cardinality(o.eligible_tiers) = 0 OR t.code = ANY (o.eligible_tiers))
      AND (cardinality(o.eligible_stages) = 0 OR customer.lifecycle_stage = ANY (o.eligible_stages))
      AND (cardinality(o.eligible_segments) = 0 OR o.eligible_segments && customer.segments)
      AND CASE
          WHEN cardinality(o.spend_categories) > 0
              THEN cm.customer_id IS NOT NULL AND in_rule.cents >= greatest(o.min_spend_cents, 1)
          WHEN o.min_spend_cents > 0
              THEN cm.customer_id IS NOT NULL AND cm.monetary_cents >= o.min_spend_cents
          ELSE true
      END
    ORDER BY 1 DESC, o.ends_at, o.benefit_value DESC, o.id::text
$$;

ANALYZE plain.branches, plain.tiers, plain.merchants, plain.customers, plain.cards,
    plain.interactions, plain.complaints, plain.complaint_events, plain.offers,
    plain.offer_assignments, plain.customer_metrics;
"""

# Reference tables first (the foreign keys come after the load, but the order reads well).
TWINS = (
    "branches",
    "tiers",
    "merchants",
    "customers",
    "cards",
    "interactions",
    "complaints",
    "complaint_events",
    "offers",
    "offer_assignments",
    "customer_metrics",
)

COLUMNS_SQL = """
SELECT twin.column_name, twin.data_type, source.data_type AS source_type,
       sealed.column_name IS NOT NULL AS sealed
FROM information_schema.columns twin
LEFT JOIN information_schema.columns source
    ON source.table_schema = 'public' AND source.table_name = twin.table_name
   AND source.column_name = twin.column_name
LEFT JOIN information_schema.columns sealed
    ON sealed.table_schema = 'public' AND sealed.table_name = twin.table_name
   AND sealed.column_name = twin.column_name || '_enc'
WHERE twin.table_schema = 'plain' AND twin.table_name = $1
ORDER BY twin.ordinal_position
"""

# A sealed value is text; these twin types want it parsed first.
_PARSE: dict[str, Callable[[str], Any]] = {"date": date.fromisoformat}


@dataclass(frozen=True)
class Column:
    """One twin column and how its value is read from the public table."""

    name: str
    source: str  # the SQL expression over the public table
    sealed: bool  # ``source`` is ``<name>_enc``, to open with the key ring
    parse: Callable[[str], Any] | None = None


def _column(name: str, data_type: str, source_type: str | None, sealed: bool) -> Column:
    if sealed:
        return Column(name, f"{name}_enc", True, _PARSE.get(data_type))
    if source_type is None:
        raise ValueError(f"plain twin column {name} has neither {name} nor {name}_enc in public")
    if data_type == "ARRAY" and source_type == "json":
        return Column(name, f"ARRAY(SELECT json_array_elements_text({name}))", False)
    return Column(name, name, False)


async def _columns(connection: asyncpg.Connection, table: str) -> list[Column]:
    rows = await connection.fetch(COLUMNS_SQL, table)
    return [_column(r["column_name"], r["data_type"], r["source_type"], r["sealed"]) for r in rows]


def _opened(
    ring: KeyRing, table: str, columns: Sequence[Column], rows: Sequence[asyncpg.Record]
) -> list[tuple[Any, ...]]:
    """The COPY records of a batch: sealed cells opened in the place they were sealed for
    (the AAD names the public table, its ``_enc`` column and the row's key, the first column)."""
    sealed = [(index, c) for index, c in enumerate(columns) if c.sealed]
    records = []
    for row in rows:
        values = list(row)
        for index, column in sealed:
            cell = values[index]
            if cell is not None:
                clear = ring.open(cell, aad_for(table, column.source, values[0]))
                values[index] = column.parse(clear) if column.parse else clear
        records.append(tuple(values))
    return records


async def _copy_twin(connection: asyncpg.Connection, ring: KeyRing, table: str) -> int:
    """Copies one table into its twin, a keyset batch at a time (key: the first column)."""
    columns = await _columns(connection, table)
    key = columns[0].name
    select = f"SELECT {', '.join(c.source for c in columns)} FROM public.{table}"
    first = f"{select} ORDER BY {key} LIMIT {BATCH}"
    after = f"{select} WHERE {key} > $1 ORDER BY {key} LIMIT {BATCH}"
    names = [c.name for c in columns]
    written = 0
    rows = await connection.fetch(first)
    sealed_at = [index for index, c in enumerate(columns) if c.sealed]
    while rows:
        cells = (row[index] for row in rows for index in sealed_at)
        await open_customer_keys(connection, ring, owners(cells))
        records = _opened(ring, table, columns, rows)
        await connection.copy_records_to_table(
            table, schema_name=SCHEMA, records=records, columns=names
        )
        written += len(records)
        rows = await connection.fetch(after, rows[-1][0])
    return written


async def _key_ring(url: str, master_key: str) -> KeyRing:
    database = Database(url)
    try:
        async with database.session() as session:
            return await load_key_ring(
                session, master_key_from_settings(bench_settings(url, master_key))
            )
    finally:
        await database.dispose()


def asyncpg_dsn(url: str) -> str:
    """An SQLAlchemy URL (``postgresql+asyncpg://...``) as a libpq/asyncpg DSN."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def add_plain_twins(url: str, master_key: str) -> int:
    """(Re)creates schema ``plain`` on a database built by ``bench.dataset``; returns the rows
    written over all twins."""
    ring = await _key_ring(url, master_key)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(TABLES)
        written = 0
        for table in TWINS:
            written += await _copy_twin(connection, ring, table)
        await connection.execute(RELATIONS)
    finally:
        await connection.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="a database built by bench.dataset (postgresql+asyncpg://...)")
    parser.add_argument("--master-key", required=True, help="the key bench.dataset sealed with")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = asyncio.run(add_plain_twins(args.url, args.master_key))
    print(f"plain twins: {rows} rows in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
