"""Reading transactions below GraphQL: the filter's checks, its SQL, the page loaders and
``node``'s scoped lookup, on transactions imported through the file import.

Given two fresh customers (branch A and B) with purchases imported from a CSV file, when their
pages are loaded together, then one query per page shape answers both, newest first, each
row with its card; a filter out of order is BAD_USER_INPUT naming the field.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from core.errors import BadUserInput, NotFound
from core.identity import Role
from core.request_database import RequestDatabase
from models.cards.card import Card
from models.customers.customer import Customer
from models.transactions.transaction import MerchantCategory, Transaction
from resolvers.transactions.files import CountingLines, csv_rows
from resolvers.transactions.ingest import import_transactions
from resolvers.transactions.loaders import (
    TransactionCountByCustomerLoader,
    TransactionPageKey,
    TransactionPagesByCardLoader,
    TransactionPagesByCustomerLoader,
)
from resolvers.transactions.reading import (
    TransactionFilter,
    transaction_conditions,
    transaction_in_scope,
)
from tests.conftest import Server, customer_token
from tests.support import World, add_customer, staff_principal

HEADER = "card_id,amount,currency,merchant,merchant_category,channel,time,reference\n"
ROWS = [  # amount, category, time
    ("12.00", "dining", "2025-09-01T08:00:00+08:00"),
    ("450.00", "travel", "2025-09-02T08:00:00+08:00"),
    ("88.80", "dining", "2025-09-03T08:00:00+08:00"),
    ("1999.00", "electronics", "2025-09-04T08:00:00+08:00"),
]


@dataclass(frozen=True)
class Spender:
    customer_id: uuid.UUID
    card_id: uuid.UUID


@dataclass
class _Context:
    """The one thing a loader reads from the request context."""

    db: RequestDatabase


async def spender(server: Server, world: World, branch: str) -> Spender:
    customer_id = await add_customer(server.state, world, branch=branch, active=True)
    async with server.state.database.session() as session:
        card = (await session.scalars(select(Card).where(Card.customer_id == customer_id))).one()
    text = HEADER + "".join(
        f"{card.id},{amount},CNY,商户{n},{category},pos,{time},RD-{uuid.uuid4().hex[:10]}\n"
        for n, (amount, category, time) in enumerate(ROWS)
    )
    summary = await import_transactions(
        database=server.state.database,
        ring=server.state.key_ring,
        rows=csv_rows(CountingLines(io.BytesIO(text.encode()))),
        batch_rows=10,
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert summary.imported == len(ROWS)
    return Spender(customer_id, card.id)


@pytest.fixture(scope="module")
async def pair(server: Server, world: World) -> tuple[Spender, Spender]:
    return await spender(server, world, "BJ-CY"), await spender(server, world, "SH-PD")


def test_a_filter_refuses_ranges_out_of_order_and_times_without_an_offset() -> None:
    at = datetime(2025, 9, 1, tzinfo=UTC)
    with pytest.raises(BadUserInput) as reversed_time:
        TransactionFilter(occurred_from=at, occurred_to=at - timedelta(seconds=1))
    with pytest.raises(BadUserInput) as reversed_amount:
        TransactionFilter(amount_min_cents=200, amount_max_cents=100)
    with pytest.raises(BadUserInput) as naive:
        TransactionFilter(occurred_to=datetime(2025, 9, 1))
    assert (reversed_time.value.field, reversed_amount.value.field) == ("occurredFrom", "amountMin")
    assert naive.value.field == "occurredTo"
    assert TransactionFilter(amount_min_cents=100, amount_max_cents=100).amount_min_cents == 100
    assert transaction_conditions(TransactionFilter()) == []
    assert len(transaction_conditions(TransactionFilter(category=MerchantCategory.FUEL))) == 1


async def test_pages_of_several_customers_load_in_one_query_newest_first_with_their_cards(
    server: Server, pair: tuple[Spender, Spender]
) -> None:
    a, b = pair
    async with server.state.database.session() as session:
        db = RequestDatabase(session)
        loader = TransactionPagesByCustomerLoader(_Context(db))  # type: ignore[arg-type]
        wanted = TransactionFilter(category=MerchantCategory.DINING)
        before = server.state.database.statements_executed
        pages = [
            await page
            for page in [
                loader.load(TransactionPageKey(a.customer_id, 1, None, wanted)),
                loader.load(TransactionPageKey(b.customer_id, 1, None, wanted)),
            ]
        ]
        assert server.state.database.statements_executed - before == 1
        for page, who in zip(pages, pair, strict=True):
            ((_cursor, view),) = page.rows
            assert (view.transaction.amount_cents, view.card.id) == (8880, who.card_id)
            assert page.has_next_page is True
            assert page.has_previous_page is False
        rest = await TransactionPagesByCustomerLoader(_Context(db)).load(  # type: ignore[arg-type]
            TransactionPageKey(a.customer_id, 5, pages[0].rows[0][0], wanted)
        )
        assert [view.transaction.amount_cents for _, view in rest.rows] == [1200]
        assert rest.has_next_page is False
        counted = TransactionCountByCustomerLoader(_Context(db))  # type: ignore[arg-type]
        assert await counted.load((a.customer_id, TransactionFilter())) == len(ROWS)


async def test_a_card_page_holds_only_that_cards_transactions(
    server: Server, pair: tuple[Spender, Spender]
) -> None:
    a, _ = pair
    china = timezone(timedelta(hours=8))
    async with server.state.database.session() as session:
        loader = TransactionPagesByCardLoader(_Context(RequestDatabase(session)))  # type: ignore[arg-type]
        page = await loader.load(
            TransactionPageKey(
                a.card_id,
                10,
                None,
                TransactionFilter(
                    occurred_from=datetime(2025, 9, 2, 8, tzinfo=china),
                    occurred_to=datetime(2025, 9, 4, 8, tzinfo=china),
                ),
            )
        )
    assert [view.transaction.amount_cents for _, view in page.rows] == [8880, 45000]
    assert {view.transaction.card_id for _, view in page.rows} == {a.card_id}


async def test_node_finds_a_transaction_only_within_the_callers_customer_scope(
    server: Server, world: World, pair: tuple[Spender, Spender]
) -> None:
    a, b = pair
    async with server.state.database.session() as session:
        db = RequestDatabase(session)
        theirs = await session.scalar(
            select(Transaction.id).where(col(Transaction.card_id) == b.card_id).limit(1)
        )
        assert theirs is not None
        agent_a = staff_principal(Role.AGENT, world.branches["BJ-CY"].id)
        with pytest.raises(NotFound):
            await transaction_in_scope(db=db, principal=agent_a, transaction_id=theirs)
        with pytest.raises(NotFound):  # no cards:read
            await transaction_in_scope(
                db=db, principal=staff_principal(Role.MARKETER), transaction_id=theirs
            )
        seen = await transaction_in_scope(
            db=db, principal=staff_principal(Role.RISK_OFFICER), transaction_id=theirs
        )
        assert seen.card.id == b.card_id
        customer = server.state.tokens.verify(customer_token(server, a.customer_id))
        with pytest.raises(NotFound):
            await transaction_in_scope(db=db, principal=customer, transaction_id=theirs)
        await session.execute(
            update(Customer)
            .where(col(Customer.id) == b.customer_id)
            .values(branch_id=world.branches["BJ-CY"].id)
        )
        assert (await transaction_in_scope(db=db, principal=agent_a, transaction_id=theirs)).card
        await session.rollback()
