"""Builders for partner-merchant tests: merchants, their tokens, offers and assignments.

Made directly through the models and ``resolvers.growth.codes.issue_code`` (what accepting an
offer does), so the merchant tests need nothing of the marketer and customer workflows.
Every test makes a merchant of its own: its offers and figures are then its own, whatever
else shares the session's database. Assignments go to existing demo customers, so no test
changes how many customers there are.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from api.state import AppState
from core.identity import Role, Scope
from models.columns import utcnow
from models.customers.customer import Customer
from models.growth.offer import AssignmentStatus, BenefitType, Offer, OfferAssignment, OfferStatus
from models.merchants.merchant import Merchant, OAuthClient
from resolvers.growth.codes import issue_code

READ_AND_REDEEM = frozenset({Scope.OFFERS_READ, Scope.OFFERS_REDEEM})


def _client_id(merchant: Merchant) -> str:
    return f"merchant-{merchant.id.hex[:12]}"


async def add_merchant(state: AppState, name: str = "测试商户") -> Merchant:
    """A partner merchant and its (active) OAuth client, whose tokens ``merchant_token``
    issues; the client has no usable secret: these tests never call /oauth/token."""
    async with state.database.session() as session:
        merchant = Merchant(name=f"{name} {uuid.uuid4().hex[:6]}", category="dining")
        session.add(merchant)
        await session.flush()
        session.add(
            OAuthClient(
                client_id=_client_id(merchant),
                client_secret_hash="!unusable",
                name=merchant.name,
                kind="merchant",
                merchant_id=merchant.id,
                allowed_scopes="offers:read offers:redeem",
            )
        )
        await session.commit()
        return merchant


def merchant_token(
    state: AppState, merchant: Merchant, scopes: frozenset[Scope] = READ_AND_REDEEM
) -> str:
    """A token as ``/oauth/token`` issues it for the merchant's client."""
    client_id = _client_id(merchant)
    return state.tokens.issue(
        subject=client_id,
        role=Role.MERCHANT,
        client_id=client_id,
        merchant_id=merchant.id,
        scopes=scopes,
    )


async def add_offer(
    state: AppState,
    merchant: Merchant,
    *,
    status: OfferStatus = OfferStatus.ACTIVE,
    benefit_type: BenefitType = BenefitType.PERCENT_OFF,
    benefit_value: int = 10,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    quota: int | None = None,
    budget_cents: int | None = None,
    min_spend_cents: int = 0,
    title: str = "满100减10",
) -> Offer:
    now = utcnow()
    async with state.database.session() as session:
        offer = Offer(
            merchant_id=merchant.id,
            title=title,
            description="到店消费可用",
            category="dining",
            benefit_type=benefit_type.value,
            benefit_value=benefit_value,
            starts_at=starts_at or now - timedelta(days=1),
            ends_at=ends_at or now + timedelta(days=30),
            quota=quota,
            budget_cents=budget_cents,
            min_spend_cents=min_spend_cents,
            eligible_tiers=["gold"],
            eligible_segments=["dining"],
            status=status.value,
        )
        session.add(offer)
        await session.commit()
        return offer


@dataclass(frozen=True)
class Accepted:
    assignment_id: uuid.UUID
    customer_id: uuid.UUID
    code: str


async def accept_offer(state: AppState, offer: Offer, customer_id: uuid.UUID) -> Accepted:
    """The customer has accepted ``offer``: an accepted assignment with a fresh code."""
    now = utcnow()
    async with state.database.session() as session:
        assignment = OfferAssignment(
            offer_id=offer.id,
            customer_id=customer_id,
            status=AssignmentStatus.ACCEPTED.value,
            viewed_at=now,
            accepted_at=now,
        )
        code = issue_code(state.key_ring, assignment)
        session.add(assignment)
        await session.commit()
        return Accepted(assignment.id, customer_id, code)


async def add_assignment(
    state: AppState,
    offer: Offer,
    customer_id: uuid.UUID,
    *,
    viewed_at: datetime | None = None,
    accepted_at: datetime | None = None,
    redeemed_at: datetime | None = None,
    amount_cents: int | None = None,
    benefit_cents: int | None = None,
) -> None:
    """An assignment at a chosen point of its life, with chosen times (for statistics)."""
    status = (
        AssignmentStatus.REDEEMED
        if redeemed_at
        else AssignmentStatus.ACCEPTED
        if accepted_at
        else AssignmentStatus.VIEWED
        if viewed_at
        else AssignmentStatus.TARGETED
    )
    async with state.database.session() as session:
        session.add(
            OfferAssignment(
                offer_id=offer.id,
                customer_id=customer_id,
                status=status.value,
                viewed_at=viewed_at,
                accepted_at=accepted_at,
                redeemed_at=redeemed_at,
                redeemed_amount_cents=amount_cents,
                benefit_cents=benefit_cents,
            )
        )
        await session.commit()


async def customer_ids(state: AppState, count: int) -> list[uuid.UUID]:
    """``count`` existing customers, always the same ones, oldest first."""
    async with state.database.session() as session:
        rows = await session.scalars(
            select(Customer.id).order_by(Customer.created_at, Customer.id).limit(count)  # type: ignore[arg-type]
        )
        ids = list(rows.all())
    assert len(ids) == count, f"the test world has fewer than {count} customers"
    return ids
