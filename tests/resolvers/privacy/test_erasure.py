"""Erasure through the service layer on a database of the test's own: the request decided by
an admin erases the customer in one transaction, keeping their transactions and statements;
a decided request cannot be decided again; ``cardcrm audit verify`` passes afterwards. A
card's history stays append-only but for erasure emptying its sealed note."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from core.database import Database
from core.errors import Conflict, CustomerErased
from core.identity import Role
from models.cards.card import Card
from models.cards.statement import Statement
from models.customer_keys import ensure_customer_keys
from models.customers.customer import Customer
from models.transactions.transaction import Transaction
from resolvers.day_close import close_day
from resolvers.privacy.erasure_requests import decide_erasure, request_erasure
from tests.models.conftest import FreshDatabase
from tests.resolvers.privacy.support_erasure import (
    add_customer,
    book,
    branch_and_tier,
    close_card,
    staff_event,
)
from tests.support import staff_principal

pytestmark = pytest.mark.slow


async def _count(database: Database, model: type[Any], *where: Any) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def test_an_approved_erasure_keeps_transactions_and_statements_and_the_chain(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        where = await branch_and_tier(database)
        # Given a customer who spent and repaid in January, got a February statement, whose
        # card is closed, and who asked to be erased,
        customer = await add_customer(database, ring, where, seed=11)
        card_id = customer.card_ids[0]
        await book(
            database,
            ring,
            card_id,
            [
                ("purchase", "300.00", "2026-01-05T09:00:00+08:00"),
                ("repayment", "300.00", "2026-01-06T09:00:00+08:00"),
            ],
        )
        async with database.session() as session:
            card = await session.get(Card, card_id)
            assert card is not None
            await close_day(session, fresh_database.settings, date(2026, 2, card.statement_day))
            await session.commit()
        await close_card(database, ring, card_id)
        async with database.session() as session:
            asked = await request_erasure(
                session=session, customer_id=customer.id, audit_event=staff_event
            )
        statements = await _count(database, Statement, col(Statement.card_id) == card_id)

        # when an admin approves it (no retention kept),
        admin = staff_principal(Role.ADMIN)
        async with database.session() as session:
            done = await decide_erasure(
                session=session,
                ring=ring,
                principal=admin,
                request_id=asked.id,
                approve=True,
                expected_version=asked.version,
                retention_years=0,
                audit_event=staff_event,
            )
        async with database.session() as session:
            with pytest.raises(Conflict, match="no longer pending"):
                await decide_erasure(
                    session=session,
                    ring=ring,
                    principal=admin,
                    request_id=asked.id,
                    approve=True,
                    expected_version=done.version,
                    retention_years=0,
                    audit_event=staff_event,
                )
            tombstone = await session.get(Customer, customer.id)
            with pytest.raises(CustomerErased):  # no write path can give them a key again
                await ensure_customer_keys(session, ring, [customer.id])
        verified = await fresh_database.run_cli("audit", "verify")

        # then the customer is a tombstone, the figures are all there, the chain verifies.
        assert (done.status, done.version, done.decided_by) == ("done", 2, admin.audit_actor)
        assert tombstone is not None
        assert tombstone.erased_at is not None
        assert (tombstone.name_enc, tombstone.id_number_bidx) == (None, None)
        assert statements == 1
        assert await _count(database, Statement, col(Statement.card_id) == card_id) == 1
        assert await _count(database, Transaction, col(Transaction.card_id) == card_id) == 2
        assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE card_events SET reason_enc = :value",
        "UPDATE card_events SET action = 'close', reason_enc = NULL",
        "DELETE FROM card_events",
    ],
)
async def test_a_card_history_stays_append_only_but_for_emptying_its_note(
    fresh_database: FreshDatabase, statement: str
) -> None:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        customer = await add_customer(database, ring, await branch_and_tier(database), seed=12)
        await close_card(database, ring, customer.card_ids[0])
        async with database.session() as session:
            with pytest.raises(DBAPIError, match="card_events is append-only"):
                await session.execute(text(statement), {"value": b"\x00"})
            await session.rollback()
            await session.execute(text("UPDATE card_events SET reason_enc = NULL"))
            await session.commit()
            notes = list(await session.scalars(text("SELECT reason_enc FROM card_events")))
        assert notes == [None]
