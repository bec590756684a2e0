"""Every way the counted facts change keeps the kept aggregates exact (issue 17).

``customer_counts`` and ``purchase_spans`` are kept by triggers, so no writer can forget
them. Given the growth KPIs' hand-counted world, when customers are created (one by one as
``createCustomer`` does, many at once as ``cardcrm import customers`` does), evaluated,
deleted, erased, moved between branches, tiers and stages set-based, and when purchases
arrive, change kind, time or card, are deleted, and a card changes hands, then after each
step the kept rows equal a GROUP BY over the tables (``tests.resolvers.analytics.kept``).
The HTTP test does the same through the running server's ``createCustomer`` and import.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api.demo.people import REFERENCE_DATE
from core.database import Database
from core.encryption import KeyRing
from models.cards.card import Card
from models.customers.customer import Customer
from models.customers.identifiers import generate_mobile, generate_national_id
from models.growth.tier import Tier
from models.keys import CustomerKey
from models.organisation.organisation import Branch
from models.transactions.transaction import Transaction
from resolvers.customers.bulk_import import import_customers
from resolvers.customers.import_file import customer_rows
from resolvers.customers.records import new_customer_rows
from resolvers.growth.evaluation import evaluate_customers
from resolvers.privacy.erasure import erase_customers
from resolvers.transactions.files import FileFormat
from tests.conftest import Server, staff_token
from tests.models.conftest import FreshDatabase
from tests.resolvers.analytics import test_growth
from tests.resolvers.analytics.kept import drift
from tests.resolvers.growth.test_evaluation import batch_job_event
from tests.resolvers.privacy.test_consent_history import _line
from tests.schema.customers.test_tags import CREATE
from tests.support import World, numbered_customer

KEPT_EXACT: dict[str, Any] = {}


class Kept:
    """The hand-counted world, with the check after every write."""

    def __init__(self, database: Database, ring: KeyRing) -> None:
        self.database, self.ring = database, ring

    async def write(self, *statements: Any) -> None:
        async with self.database.session() as session:
            for statement in statements:
                await session.execute(statement)
            await session.commit()
        await self.assert_exact()

    async def assert_exact(self) -> None:
        async with self.database.session() as session:
            assert await drift(session) == KEPT_EXACT

    async def stages(self) -> dict[str, int]:
        query = text(
            "SELECT lifecycle_stage, SUM(customers) FROM customer_counts GROUP BY lifecycle_stage"
        )
        async with self.database.session() as session:
            return {str(k): int(n) for k, n in (await session.execute(query)).all()}

    async def ids(self, column: Any, *where: Any) -> list[uuid.UUID]:
        async with self.database.session() as session:
            return list((await session.scalars(select(column).where(*where))).all())


@pytest.fixture
async def kept(fresh_database: FreshDatabase) -> AsyncIterator[Kept]:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            await test_growth._build(session, ring)
        yield Kept(database, ring)


async def _new_customers(session: AsyncSession, ring: KeyRing, numbers: range) -> list[Any]:
    branch = await session.scalar(select(Branch.id))
    tier = await session.scalar(select(Tier.id))
    made = [
        new_customer_rows(ring, numbered_customer(n), branch_id=branch, tier_id=tier)
        for n in numbers
    ]
    return [(row, key) for row, _, key in made]


async def test_customers_written_every_way_keep_the_counts_exact(
    kept: Kept, fresh_database: FreshDatabase
) -> None:
    await kept.assert_exact()
    async with kept.database.session() as session:  # one by one, through the ORM
        singles = await _new_customers(session, kept.ring, range(100, 102))
        for row, key in singles:
            session.add_all([key, row])
            await session.flush()
        await session.commit()
    await kept.assert_exact()
    doomed = [row.id for row, _ in singles]
    await kept.write(
        delete(CustomerKey).where(col(CustomerKey.customer_id).in_(doomed)),
        delete(Customer).where(col(Customer.id).in_(doomed)),
    )
    async with kept.database.session() as session:  # many in one INSERT, as the import does
        made = await _new_customers(session, kept.ring, range(200, 205))
        table = Customer.__table__  # type: ignore[attr-defined]
        rows = [{c.name: getattr(row, c.name) for c in table.columns} for row, _ in made]
        session.add_all([key for _, key in made])
        await session.flush()
        await session.execute(insert(table), rows)
        await session.commit()
    await kept.assert_exact()

    before = await kept.stages()
    await evaluate_customers(
        database=kept.database,
        settings=fresh_database.settings,
        audit_event=batch_job_event,
        as_of=datetime.combine(REFERENCE_DATE, datetime.min.time(), UTC),
        chunk_rows=3,
    )
    assert await kept.stages() != before  # the evaluation moved customers between stages
    await kept.assert_exact()

    branches = await kept.ids(Branch.id)
    tiers = await kept.ids(Tier.id)
    everyone = col(Customer.id).is_not(None)
    await kept.write(
        update(Customer).where(everyone).values(lifecycle_stage="dormant"),
        update(Customer).where(col(Customer.branch_id) == branches[0]).values(tier_id=tiers[-1]),
        update(Customer).where(everyone).values(credit_score=700),  # counts nothing
        update(Customer).where(col(Customer.tier_id) == tiers[-1]).values(branch_id=branches[-1]),
        update(Customer).where(everyone).values(lifecycle_stage="no-such-stage"),
    )
    async with kept.database.session() as session:
        erased = await erase_customers(
            session, kept.ring, (await kept.ids(Customer.id))[:2], batch_job_event
        )
        await session.commit()
    assert erased == 2
    await kept.assert_exact()


def _purchase(card: uuid.UUID, when: datetime, kind: str = "purchase") -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "card_id": card,
        "kind": kind,
        "amount_cents": 1_000,
        "merchant_name": "商户",
        "occurred_at": when,
        "natural_key": uuid.uuid4().hex,
    }


async def test_purchases_written_every_way_keep_the_spans_exact(kept: Kept) -> None:
    cards = await kept.ids(Card.id)
    rng = random.Random(17)
    start = datetime(2024, 6, 1, tzinfo=UTC)
    batch = [
        _purchase(rng.choice(cards), start + timedelta(hours=rng.randrange(20_000)), kind)
        for kind in ["purchase"] * 30 + ["repayment", "refund"] * 5
    ]
    table = Transaction.__table__  # type: ignore[attr-defined]
    async with kept.database.session() as session:
        await session.execute(insert(table), batch)  # many rows, as a file import does
        await session.commit()
    await kept.assert_exact()
    one, other = batch[0]["id"], batch[1]["id"]
    await kept.write(
        update(Transaction).where(col(Transaction.id) == one).values(kind="refund"),
        update(Transaction).where(col(Transaction.id) == other).values(occurred_at=start),
        update(Transaction).where(col(Transaction.kind) == "refund").values(kind="purchase"),
        update(Transaction).where(col(Transaction.card_id) == cards[0]).values(card_id=cards[1]),
        update(Transaction).where(col(Transaction.id) == one).values(amount_cents=5),  # nothing
    )
    owners = await kept.ids(Card.customer_id, col(Card.id).in_(cards[:2]))
    await kept.write(
        update(Card).where(col(Card.id) == cards[1]).values(customer_id=owners[0]),
        update(Card).where(col(Card.id) == cards[2]).values(status="blocked"),  # nothing
        delete(Transaction).where(col(Transaction.id).in_([one, other])),
        delete(Transaction).where(col(Transaction.card_id) == cards[1]),
    )


async def test_the_servers_own_create_and_import_keep_the_counts_exact(
    server: Server, world: World
) -> None:
    rng = random.Random(4417)  # a seed of its own: the server's customers are shared
    born = date(1985, 5, 5)
    person = {
        "name": "留存计数",
        "birthDate": born.isoformat(),
        "idNumber": generate_national_id(rng, born),
        "phone": generate_mobile(rng),
    }
    token = staff_token(server, world, "demo-agent")
    body = await server.graphql(CREATE, {"input": person}, token=token)
    assert body["data"]["createCustomer"]["userErrors"] == [], body
    summary = await import_customers(
        database=server.state.database,
        ring=server.state.key_ring,
        rows=customer_rows([_line(rng, f"KEPT{n:04d}", {}) for n in range(4)], FileFormat.JSONL),
        chunk_rows=3,
        audit_event=batch_job_event,
    )
    assert summary.rejected == 0, summary.errors
    async with server.state.database.session() as session:
        assert await drift(session) == KEPT_EXACT
