"""``redeemReward``: a customer spends points on a reward, exactly once per idempotency key.

In one transaction: the customer's row is locked (``FOR UPDATE`` on PostgreSQL; SQLite has
one writer at a time), so two redemptions of one customer see each other's spending; a
redemption already made with the key is answered again (nothing is spent twice); the
balance (the ledger's sum) must cover the price (else INSUFFICIENT_POINTS); the stock is
taken with ``UPDATE … SET stock = stock - 1 WHERE stock > 0`` (no row: OUT_OF_STOCK), so two
customers never take the last one; then the redemption and its ``redeem`` ledger entry are
written and audited. A refusal writes nothing but its audit entry.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.errors import (
    BadUserInput,
    Conflict,
    DomainError,
    Forbidden,
    InsufficientPoints,
    NotFound,
    OutOfStock,
)
from core.identity import Principal
from core.text_limits import REDEMPTION_REFERENCE
from models.columns import utcnow
from models.customers.customer import Customer
from models.loyalty.ledger import PointsEntry, PointsKind
from models.loyalty.reward import Reward, RewardRedemption, RewardStatus
from resolvers.loyalty.rewards import NOT_FOUND

REDEEM_ACTION, REFUSED_ACTION = "rewards.redeem", "rewards.redeem.refused"


@dataclass(frozen=True)
class Redeemed:
    redemption: RewardRedemption
    reward: Reward
    balance: int


async def _balance(session: AsyncSession, customer_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            col(PointsEntry.customer_id) == customer_id
        )
    )
    return int(total or 0)


async def _earlier(
    session: AsyncSession, customer_id: uuid.UUID, key: str, reward_id: uuid.UUID
) -> Redeemed | None:
    found = await session.scalar(
        select(RewardRedemption).where(
            col(RewardRedemption.customer_id) == customer_id,
            col(RewardRedemption.idempotency_key) == key,
        )
    )
    if found is None:
        return None
    if found.reward_id != reward_id:
        raise Conflict("this idempotencyKey was used for another reward", field="idempotencyKey")
    reward = await session.get(Reward, found.reward_id)
    assert reward is not None
    return Redeemed(found, reward, await _balance(session, customer_id))


async def _lock_customer(session: AsyncSession, customer_id: uuid.UUID) -> None:
    query = select(Customer.id).where(col(Customer.id) == customer_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    await session.scalar(query)


async def redeem_reward(
    *,
    session: AsyncSession,
    principal: Principal,
    reward_id: uuid.UUID,
    idempotency_key: str,
    audit_event: Callable[..., AuditEvent],
) -> Redeemed:
    customer_id = principal.customer_id
    if customer_id is None:
        raise Forbidden("only the customer redeems their points, in the app")
    key = idempotency_key.strip()
    if not key or len(key) > REDEMPTION_REFERENCE:
        raise BadUserInput(
            f"idempotencyKey must be 1 to {REDEMPTION_REFERENCE} characters",
            field="idempotencyKey",
        )
    # The audit chain's lock, held from the checks to the commit (auth.audit.chain_lock):
    # on SQLite it is what keeps two redemptions from both passing the checks.
    async with audit.chain_lock(session):
        redeemed = await _redeem(session, customer_id, reward_id, key, audit_event)
    fresh = await session.get(Reward, reward_id, populate_existing=True)
    assert fresh is not None
    return replace(redeemed, reward=fresh)


async def _redeem(
    session: AsyncSession,
    customer_id: uuid.UUID,
    reward_id: uuid.UUID,
    key: str,
    audit_event: Callable[..., AuditEvent],
) -> Redeemed:
    await _lock_customer(session, customer_id)
    earlier = await _earlier(session, customer_id, key, reward_id)
    if earlier is not None:
        return earlier
    now = utcnow()
    reward = await session.scalar(
        select(Reward).where(
            col(Reward.id) == reward_id,
            col(Reward.status) == RewardStatus.ACTIVE.value,
            col(Reward.starts_at) <= now,
            col(Reward.ends_at) > now,
        )
    )
    if reward is None:
        raise NotFound(NOT_FOUND, field="rewardId")
    price = reward.points_price
    balance = await _balance(session, customer_id)
    refusal: DomainError | None = None
    if balance < price:
        refusal = InsufficientPoints(
            f"the reward costs {price:,} points; the balance is {balance:,}", field="rewardId"
        )
    else:
        taken = await session.execute(
            update(Reward)
            .where(col(Reward.id) == reward.id, col(Reward.stock) > 0)
            .values(stock=col(Reward.stock) - 1)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            refusal = OutOfStock("the reward is out of stock", field="rewardId")
    if refusal is not None:  # nothing was written: the refusal's audit entry alone commits
        await audit.append(session, _event(audit_event, REFUSED_ACTION, reward_id, price, refusal))
        await session.commit()
        raise refusal
    redemption = RewardRedemption(
        reward_id=reward_id, customer_id=customer_id, points=price, idempotency_key=key
    )
    session.add(redemption)
    await session.flush()
    session.add(
        PointsEntry(
            customer_id=customer_id,
            kind=PointsKind.REDEEM.value,
            points=-price,
            redemption_id=redemption.id,
            occurred_at=redemption.created_at,
            natural_key=f"redeem:{redemption.id}",
        )
    )
    await audit.append(session, _event(audit_event, REDEEM_ACTION, reward_id, price, None))
    await session.commit()
    return Redeemed(redemption, reward, balance - price)


def _event(
    make: Callable[..., AuditEvent],
    action: str,
    reward_id: uuid.UUID,
    price: int,
    refusal: DomainError | None,
) -> AuditEvent:
    details: dict[str, object] = {"pointsPrice": price}
    if refusal is not None:
        details["code"] = refusal.code.value
    return make(action, target_type="Reward", target_id=str(reward_id), details=details)
