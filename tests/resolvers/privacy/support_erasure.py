"""Customers for the erasure and retention tests on a database of the test's own, built
through the service layer: ``new_customer_rows`` (sealed and blind-indexed like
createCustomer), the card workflow's ``change_card`` (audited) and the transaction file
import (which takes each transaction's own business time)."""

from __future__ import annotations

import io
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from auth.audit import AuditEvent
from core.broker import InProcessBroker
from core.database import Database
from core.encryption import KeyRing
from core.identity import Role
from core.settings import Settings
from models.cards.card import Card, CardStatus
from models.customers.identifiers import (
    generate_mobile,
    generate_national_id,
    generate_unionpay_pan,
)
from models.growth.tier import Tier
from models.organisation.organisation import Branch
from resolvers.cards.servicing import CardChange, change_card
from resolvers.cards.workflow import CardAction
from resolvers.customers.input import Consent, NewCard, NewCustomer
from resolvers.customers.records import new_customer_rows
from resolvers.service_desk.complaints import NewComplaint, file_complaint
from resolvers.transactions.files import CountingLines, FileFormat, file_rows
from resolvers.transactions.ingest import import_transactions
from tests.support import staff_principal

HEADER = "card_id,pan,amount,currency,merchant,merchant_category,channel,time,reference,kind\n"


@dataclass(frozen=True)
class Built:
    id: uuid.UUID
    data: NewCustomer
    card_ids: list[uuid.UUID]


def staff_event(action: str, **values: Any) -> AuditEvent:
    return AuditEvent(actor_kind="staff", actor_id="test", action=action, **values)


async def branch_and_tier(database: Database) -> tuple[uuid.UUID, uuid.UUID]:
    async with database.session() as session:
        suffix = uuid.uuid4().hex[:8]
        branch = Branch(code=f"b-{suffix}", name="Branch")
        tier = Tier(code=f"t-{suffix}", name="Tier", rank=uuid.uuid4().int % 1_000_000)
        session.add_all([branch, tier])
        await session.commit()
        return branch.id, tier.id


async def add_customer(
    database: Database,
    ring: KeyRing,
    where: tuple[uuid.UUID, uuid.UUID],
    *,
    seed: int,
    card: bool = True,
    active: bool = True,
) -> Built:
    rng = random.Random(seed)
    birth = date(1980 + rng.randrange(20), 1 + rng.randrange(12), 1 + rng.randrange(28))
    cards = (
        (
            NewCard(
                pan=generate_unionpay_pan(rng),
                product="UnionPay Classic",
                credit_limit=Decimal("10000"),
            ),
        )
        if card
        else ()
    )
    data = NewCustomer(
        name="待删客户",
        birth_date=birth,
        id_number=generate_national_id(rng, birth),
        phone=generate_mobile(rng),
        email=f"erase-{seed}@example.com",
        address="北京市朝阳区建国路1号",
        consent=Consent(sms=True, email=True),
        cards=cards,
    ).checked()
    async with database.session() as session:
        row, card_rows, key = new_customer_rows(ring, data, branch_id=where[0], tier_id=where[1])
        session.add(key)
        for made in card_rows if active else ():
            made.status, made.activated_at = CardStatus.ACTIVATED, made.issued_at
        session.add(row)
        await session.flush()
        session.add_all(card_rows)
        await session.commit()
        return Built(row.id, data, [made.id for made in card_rows])


async def book(
    database: Database, ring: KeyRing, card_id: uuid.UUID, rows: list[tuple[str, str, str]]
) -> None:
    """Transactions (kind, amount, ISO time) imported like a processor's file."""
    text = HEADER + "".join(
        f"{card_id},,{amount},CNY,星巴克,dining,pos,{at},ref-{uuid.uuid4().hex[:12]},{kind}\n"
        for kind, amount, at in rows
    )
    summary = await import_transactions(
        database=database,
        ring=ring,
        rows=file_rows(CountingLines(io.BytesIO(text.encode())), FileFormat.CSV),
        batch_rows=100,
        now=datetime.now(UTC),
    )
    assert summary.imported == len(rows), summary


async def close_card(database: Database, ring: KeyRing, card_id: uuid.UUID) -> None:
    """Closes the card as an admin would (closeCard), audited."""
    async with database.session() as session:
        card = (await session.scalars(select(Card).where(Card.id == card_id))).one()
        await change_card(
            session=session,
            ring=ring,
            principal=staff_principal(Role.ADMIN),
            change=CardChange(card_id, card.version, CardAction.CLOSE, "customer asked"),
            audit_event=staff_event,
        )


async def file_open_complaint(
    database: Database, ring: KeyRing, settings: Settings, built: Built, branch_id: uuid.UUID
) -> None:
    """A complaint filed by an agent of the customer's branch, left open."""
    async with database.session() as session:
        await file_complaint(
            session=session,
            ring=ring,
            settings=settings,
            broker=InProcessBroker(),
            principal=staff_principal(Role.AGENT, branch_id=branch_id),
            data=NewComplaint(description="年费扣错了", customer_id=built.id),
        )
