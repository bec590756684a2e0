"""``redeemOffer``: a partner merchant redeems a customer's one-time code, exactly once.

The code is found through its blind index (``resolvers.growth.codes``) among the calling
merchant's own offers only: an unknown code and another merchant's code get the same
NOT_FOUND, so a merchant cannot learn that a code exists elsewhere. Refusals are userErrors
with a stable code and a field, and write nothing:

- NOT_FOUND (``code``): no such code among this merchant's offers;
- CONFLICT (``code``): already redeemed; the offer is paused, not started or expired; the
  code has expired; the quota is used up; the budget cannot cover this redemption;
- BAD_USER_INPUT (``amount`` / ``reference``): not a positive amount, below the offer's
  minimum spend, or a reference longer than 128 characters.

**Exactly once.** The redemption is one conditional ``UPDATE … WHERE status = 'accepted'``
that also re-checks the quota and the budget against the committed redemptions of the
offer, so of two concurrent redemptions of one code exactly one changes a row. On PostgreSQL
the offer's row is locked first (``FOR NO KEY UPDATE``, which does not block inserting
assignments), so two codes of one offer cannot both take its last unit of quota under READ
COMMITTED; SQLite runs one writer at a time and the single statement is atomic there.

**Idempotent.** Redeeming the same code again with the same ``reference`` and amount returns
the first redemption instead of an error (the reference is kept in ``redemption_key``), so a
till can safely retry after a timeout; the ``Idempotency-Key`` header applies on top.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from auth import outbox
from auth.pseudonym import customer_pseudonym
from core import text_limits
from core.encryption import KeyRing
from core.errors import BadUserInput, Conflict, NotFound
from core.identity import Principal
from core.money import cents_of, yuan
from core.text_limits import checked_text
from models.columns import utcnow
from models.customers.customer import Customer
from models.growth.offer import AssignmentStatus, Offer, OfferAssignment, OfferStatus
from resolvers.growth.benefit import benefit_cost_cents
from resolvers.growth.codes import code_index
from resolvers.growth.offer_workflow import effective_assignment_status, effective_status
from resolvers.merchants.scope import calling_merchant

CODE_NOT_FOUND = "no redeemable offer code of yours matches this code"
MAX_REFERENCE_LENGTH = text_limits.REDEMPTION_REFERENCE
_CODE_INPUT_LIMIT = text_limits.REDEMPTION_CODE


@dataclass(frozen=True)
class RedemptionRequest:
    """What the till sends: the code, the purchase in yuan and its own reference."""

    code: str
    amount: Decimal
    reference: str | None = None


@dataclass(frozen=True)
class Redemption:
    """A redeemed assignment as its merchant may see it (the schema masks the name)."""

    assignment: OfferAssignment
    offer: Offer
    customer: Customer
    pseudonym: str


@dataclass(frozen=True)
class _Sale:
    """A checked request: the amount in cents, the reference trimmed (None when blank)."""

    code: str
    amount_cents: int
    reference: str | None

    @classmethod
    def of(cls, request: RedemptionRequest) -> _Sale:
        cents = _cents(request.amount)  # checked first: the amount's error wins
        reference = checked_text(
            "reference", request.reference, required=False, limit=MAX_REFERENCE_LENGTH
        )
        return cls(request.code, cents, reference)


def _cents(amount: Decimal) -> int:
    """A purchase in yuan as whole fen: money as ``cents_of`` takes it, and more than 0."""
    cents = cents_of("amount", amount)
    if cents == 0:
        raise BadUserInput("amount must be more than 0", field="amount")
    return cents


async def _locked_offer(
    session: AsyncSession, ring: KeyRing, merchant_id: uuid.UUID, code: str
) -> tuple[Offer, uuid.UUID]:
    """The merchant's offer that holds ``code`` (locked for this redemption) and the
    assignment's id; NOT_FOUND for an unknown code and for another merchant's alike."""
    if len(code) > _CODE_INPUT_LIMIT:
        raise NotFound(CODE_NOT_FOUND, field="code")
    a = OfferAssignment
    query = (
        select(Offer, col(a.id))
        .join(a, col(a.offer_id) == col(Offer.id))
        .where(col(a.code_bidx) == code_index(ring, code), col(Offer.merchant_id) == merchant_id)
        .with_for_update(of=Offer, key_share=True)  # type: ignore[arg-type]
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(CODE_NOT_FOUND, field="code")
    return row[0], row[1]


async def _fresh_assignment(session: AsyncSession, assignment_id: uuid.UUID) -> OfferAssignment:
    query = (
        select(OfferAssignment)
        .where(col(OfferAssignment.id) == assignment_id)
        .execution_options(populate_existing=True)
    )
    assignment: OfferAssignment = (await session.scalars(query)).one()
    return assignment


def _check_redeemable(
    offer: Offer, assignment: OfferAssignment, amount_cents: int, now: datetime
) -> None:
    """Refuses a code whose offer or assignment cannot be redeemed now, or a too-small sale."""
    status = effective_status(offer, now)
    if status is OfferStatus.EXPIRED:
        raise Conflict("this offer has expired", field="code")
    if status is not OfferStatus.ACTIVE:
        raise Conflict(f"this offer is {status.value} and cannot be redeemed now", field="code")
    if now < offer.starts_at:
        raise Conflict(f"this offer starts at {offer.starts_at.isoformat()}", field="code")
    current = effective_assignment_status(assignment, offer, now)
    expired_at = assignment.expired_at
    if current is AssignmentStatus.EXPIRED or (expired_at is not None and expired_at <= now):
        raise Conflict("this code has expired", field="code")
    if current is not AssignmentStatus.ACCEPTED:
        raise NotFound(CODE_NOT_FOUND, field="code")
    if amount_cents < offer.min_spend_cents:
        raise BadUserInput(
            f"this offer needs a purchase of at least {yuan(offer.min_spend_cents)}",
            field="amount",
        )


def _replay_or_refuse(assignment: OfferAssignment, sale: _Sale) -> None:
    """A redeemed code: the same retry (reference and amount) may have the first result."""
    same_retry = (
        sale.reference is not None
        and assignment.redemption_key == sale.reference
        and assignment.redeemed_amount_cents == sale.amount_cents
    )
    if not same_retry:
        raise Conflict("this code has already been redeemed", field="code")


async def _claim(
    session: AsyncSession,
    offer: Offer,
    assignment_id: uuid.UUID,
    sale: _Sale,
    cost_cents: int,
    now: datetime,
) -> bool:
    """The one conditional write: True if this request redeemed the code."""
    a, redeemed = OfferAssignment, aliased(OfferAssignment)
    of_offer = (col(redeemed.offer_id) == offer.id, col(redeemed.redeemed_at).is_not(None))
    conditions = [col(a.id) == assignment_id, col(a.status) == AssignmentStatus.ACCEPTED.value]
    if offer.quota is not None:
        used = select(func.count()).select_from(redeemed).where(*of_offer).scalar_subquery()
        conditions.append(used < offer.quota)
    if offer.budget_cents is not None:
        spent = (
            select(func.coalesce(func.sum(col(redeemed.benefit_cents)), 0))
            .where(*of_offer)
            .scalar_subquery()
        )
        conditions.append(spent + cost_cents <= offer.budget_cents)
    result = await session.execute(
        update(a)
        .where(*conditions)
        .values(
            status=AssignmentStatus.REDEEMED.value,
            redeemed_at=now,
            redeemed_amount_cents=sale.amount_cents,
            benefit_cents=cost_cents,
            redemption_key=sale.reference,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def _limit_refusal(session: AsyncSession, offer: Offer, cost_cents: int) -> Conflict:
    """Why the conditional write left an accepted code unredeemed: its offer's quota or budget
    ran out (or, should neither explain it, a concurrent change: the caller may retry)."""
    a = OfferAssignment
    usage: list[Any] = [func.count(), func.coalesce(func.sum(col(a.benefit_cents)), 0)]
    row = (
        await session.execute(
            select(*usage).where(col(a.offer_id) == offer.id, col(a.redeemed_at).is_not(None))
        )
    ).one()
    used, spent = int(row[0]), int(row[1])
    if offer.quota is not None and used >= offer.quota:
        return Conflict(f"this offer's quota of {offer.quota} is used up", field="code")
    if offer.budget_cents is not None and spent + cost_cents > offer.budget_cents:
        return Conflict("this offer's remaining budget cannot cover this redemption", field="code")
    return Conflict("the code changed while it was being redeemed; try again", field="code")


async def _finish(
    session: AsyncSession, ring: KeyRing, offer: Offer, assignment: OfferAssignment
) -> Redemption:
    """The redemption to answer with; committing also releases the offer's lock."""
    customer = (
        await session.scalars(select(Customer).where(col(Customer.id) == assignment.customer_id))
    ).one()
    pseudonym = customer_pseudonym(
        ring, merchant_id=offer.merchant_id, customer_id=assignment.customer_id
    )
    await session.commit()
    return Redemption(assignment=assignment, offer=offer, customer=customer, pseudonym=pseudonym)


async def redeem_offer(
    *,
    session: AsyncSession,
    ring: KeyRing,
    principal: Principal,
    request: RedemptionRequest,
    now: datetime | None = None,
) -> Redemption:
    """Redeems ``request.code`` for the calling merchant (``redeemOffer`` declares its scope)."""
    merchant_id = calling_merchant(principal)
    sale = _Sale.of(request)
    now = now or utcnow()
    offer, assignment_id = await _locked_offer(session, ring, merchant_id, sale.code)
    assignment = await _fresh_assignment(session, assignment_id)
    if assignment.status == AssignmentStatus.REDEEMED.value:
        _replay_or_refuse(assignment, sale)
        return await _finish(session, ring, offer, assignment)
    _check_redeemable(offer, assignment, sale.amount_cents, now)
    cost = benefit_cost_cents(offer.benefit_type, offer.benefit_value, sale.amount_cents)
    if not await _claim(session, offer, assignment_id, sale, cost, now):
        # Another request got there first (SQLite, between our read and our write), or the
        # quota or budget ran out: tell which.
        assignment = await _fresh_assignment(session, assignment_id)
        if assignment.status != AssignmentStatus.REDEEMED.value:
            raise await _limit_refusal(session, offer, cost)
        _replay_or_refuse(assignment, sale)
        return await _finish(session, ring, offer, assignment)
    await session.refresh(assignment)
    await outbox.emit(
        session,
        "offer.redeemed",
        "Customer",
        assignment.customer_id,
        offerId=outbox.global_id("Offer", offer.id),
        assignmentId=outbox.global_id("OfferAssignment", assignment.id),
        benefitCents=cost,
    )
    return await _finish(session, ring, offer, assignment)
