"""The demo's card book on top of its customers: cards in varied states, a year of card use
booked as an import books it, and the statements of the last months closed.

``vary_card_states``: of the activated cards, a few (``FROZEN_SHARE``) were frozen by their
customer some weeks before the end, and the first batch's first activated card was reported
lost, with its replacement issued and activated; each change is in the card's history.

``book_card_use``: a year of transactions from ``api.demo.transactions`` (purchases, each
card's repayments, a few late payers and fraud patterns) checked and written through the
import's own ``write_batch`` with the batch effects (so whatever an imported batch causes, a
seeded one causes too; the frozen cards' attempts are refused as the import refuses them),
then ``close_day`` (statements, then collection cases) for every day of the last
``statement_months`` months, so bills, days past due, overdue buckets and collection cases
have data on a fresh demo. For one seed and end date the rows are the same on every run.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.demo.transactions import generate_rows, load_cards
from core.encryption import KeyRing
from core.settings import Settings
from models.cards.card import PAN_INDEX, Card, CardStatus
from models.cards.history import CardEvent
from models.cards.statement import cycle_day_for
from models.customers.identifiers import generate_unionpay_pan
from models.sealing import seal_field
from models.transactions.transaction import TransactionKind
from resolvers.batch_effects import batch_effect
from resolvers.cards.statements import month_before
from resolvers.day_close import close_day
from resolvers.transactions.ingest import write_batch
from resolvers.transactions.rows import CheckedRow, RawRow, check_row

FROZEN_SHARE = 0.04
FROZEN_DAYS_AGO = (5, 40)
LOST_DAYS_AGO = 12
PURCHASES_PER_CUSTOMER = 40
STATEMENT_MONTHS = 4


@dataclass(frozen=True)
class CardUse:
    """What the seed books after the customers: card use up to ``end`` (midnight UTC)."""

    end: datetime
    purchases_per_customer: int = PURCHASES_PER_CUSTOMER
    statement_months: int = STATEMENT_MONTHS


@dataclass
class Booked:
    transactions: int = 0
    refused: int = 0
    statements: int = 0


def _event(
    ring: KeyRing, card: Card, action: str, before: str | None, when: datetime, reason: str
) -> CardEvent:
    event = CardEvent(
        card_id=card.id,
        action=action,
        actor_kind="customer",
        actor_id=str(card.customer_id),
        from_status=before,
        to_status=card.status,
        created_at=when,
    )
    seal_field(ring, event, "reason", reason, customer_id=card.customer_id)
    return event


def _replacement(ring: KeyRing, lost: Card, when: datetime) -> Card:
    pan = generate_unionpay_pan(random.Random(lost.id.int), lost.bin[:6])  # noqa: S311 - demo
    card = Card(
        id=uuid.UUID(int=lost.id.int ^ 1, version=4),
        customer_id=lost.customer_id,
        product=lost.product,
        bin=pan[:6],
        last4=pan[-4:],
        credit_limit_cents=lost.credit_limit_cents,
        status=CardStatus.ACTIVATED,
        issued_at=when,
        activated_at=when + timedelta(days=2),
        replaces_id=lost.id,
        created_at=when,
        updated_at=when + timedelta(days=2),
    )
    card.statement_day = cycle_day_for(card.id)
    seal_field(ring, card, "pan", pan)
    card.pan_bidx = ring.blind_index(PAN_INDEX, pan)
    return card


def vary_card_states(
    ring: KeyRing, cards: list[Card], end: datetime, *, with_lost: bool
) -> tuple[list[Card], list[CardEvent]]:
    """Freezes a few activated cards and (``with_lost``) reports the first one lost; returns
    the replacement card and the history rows to add after ``cards``."""
    new_cards: list[Card] = []
    events: list[CardEvent] = []
    for card in cards:
        own = random.Random(card.id.int ^ 0xF2EE2E)  # noqa: S311 - demo data
        if card.status != CardStatus.ACTIVATED or card.activated_at is None:
            continue
        if with_lost and not new_cards:
            when = end - timedelta(days=LOST_DAYS_AGO, hours=own.randrange(24))
            if when > card.activated_at:
                replacement = _replacement(ring, card, when)
                card.status, card.updated_at = CardStatus.BLOCKED, when
                new_cards.append(replacement)
                events.append(_event(ring, card, "report_lost", "activated", when, "卡片丢失"))
                issued = _event(ring, replacement, "issue", None, when, "挂失补卡")
                issued.to_status = CardStatus.ISSUED
                moved = replacement.activated_at or when
                events.append(issued)
                events.append(_event(ring, replacement, "activate", "issued", moved, "补卡激活"))
                continue
        if own.random() < FROZEN_SHARE:
            when = end - timedelta(days=own.randint(*FROZEN_DAYS_AGO), hours=own.randrange(24))
            if when > card.activated_at:
                card.status, card.updated_at = CardStatus.FROZEN, when
                events.append(_event(ring, card, "freeze", "activated", when, "临时冻结"))
    return new_cards, events


def link_replacements(cards: list[Card], replacements: list[Card]) -> None:
    """Points each lost card at its replacement (once both rows exist: the FKs go both ways)."""
    by_id = {card.id: card for card in cards}
    for replacement in replacements:
        if replacement.replaces_id in by_id:
            by_id[replacement.replaces_id].replaced_by_id = replacement.id


async def _reopen(session: AsyncSession, card_ids: list[uuid.UUID]) -> dict[str, list[uuid.UUID]]:
    """Sets the stopped cards active for the booking of their history; returns who was what."""
    states: dict[str, list[uuid.UUID]] = {}
    for card_id, status in await session.execute(
        select(col(Card.id), col(Card.status)).where(col(Card.id).in_(card_ids))
    ):
        states.setdefault(status, []).append(card_id)
    await session.execute(
        update(Card)
        .where(col(Card.id).in_(card_ids))
        .values(status=CardStatus.ACTIVATED)
        .execution_options(synchronize_session=False)
    )
    return states


async def _restore(session: AsyncSession, states: dict[str, list[uuid.UUID]]) -> None:
    for status, card_ids in states.items():
        await session.execute(
            update(Card)
            .where(col(Card.id).in_(card_ids))
            .values(status=status)
            .execution_options(synchronize_session=False)
        )


def statement_days(end: datetime, months: int) -> list[date]:
    """Every statement date of the last ``months`` months whose day has ended by ``end``."""
    last = end.date() - timedelta(days=1)  # ``end`` is midnight UTC: that local day is not over
    first = last
    for _ in range(months):
        first = month_before(first)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def book_card_use(
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    *,
    customers: int,
    seed: int,
    use: CardUse,
) -> Booked:
    """Writes the year of card use and closes the statements (uncommitted)."""
    booked = Booked()
    cards = await load_cards(session, ring)
    if not cards:
        return booked
    rows = generate_rows(
        cards,
        rows=customers * use.purchases_per_customer,
        seed=seed,
        end=use.end,
        minimum_basis_points=settings.statement_minimum_payment_basis_points,
        stopped_history=True,
    )
    stopped = {card.id: card.active_until for card in cards if card.active_until}
    effect = batch_effect(settings)
    batch: list[CheckedRow] = []
    attempts: list[CheckedRow] = []  # purchases on stopped cards after they were stopped

    async def flush() -> None:
        outcome = await write_batch(session, ring, batch, effect)
        booked.transactions += outcome.imported
        booked.refused += len(outcome.refused_uses)
        batch.clear()

    # The stopped cards were active while they were used: they are stopped again once their
    # history is booked, and their later attempts come after (refused, as an import would).
    states = await _reopen(session, list(stopped))
    for position, fields in enumerate(rows, start=1):
        present = {key: value for key, value in fields.items() if value}
        row = check_row(RawRow(position, present), now=use.end)
        until = stopped.get(row.card_id) if row.card_id else None
        late = until and row.occurred_at >= until and row.kind is not TransactionKind.REPAYMENT
        (attempts if late else batch).append(row)
        if len(batch) >= settings.import_batch_rows:
            await flush()
    await flush()
    await _restore(session, states)
    batch.extend(attempts)
    await flush()
    days_in_use = set(await session.scalars(select(col(Card.statement_day)).distinct()))
    for day in statement_days(use.end, use.statement_months):
        if day.day not in days_in_use:  # no card closes that day (fewer closes on a small demo)
            continue
        closed = await close_day(session, settings, day)
        booked.statements += closed.statements.closed
    return booked
