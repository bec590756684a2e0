"""The rewards catalogue: marketers (and admins) create, update (with ``version``) and retire
rewards; staff list them all, customers only what they may redeem now (active, in stock,
inside the validity window). Every change is audited."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from auth import audit
from auth.audit import AuditEvent
from core.errors import BadUserInput, Conflict, NotFound
from core.identity import Principal
from core.settings import Settings
from core.text_limits import OFFER_DESCRIPTION, OFFER_TITLE, checked_text
from models.columns import utcnow
from models.loyalty.reward import Reward, RewardStatus
from resolvers.pagination import Page, PageArgs, page_with_count

CREATE_ACTION, UPDATE_ACTION, RETIRE_ACTION = "rewards.create", "rewards.update", "rewards.retire"
NOT_FOUND = "no such reward"
MAX_PRICE = 100_000_000
MAX_STOCK = 10_000_000


@dataclass(frozen=True)
class RewardTerms:
    """What a reward is; on an update, None keeps the current value."""

    name: str | None = None
    description: str | None = None
    points_price: int | None = None
    stock: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    status: RewardStatus | None = None


def redeemable_now(now: datetime) -> list[Any]:
    """What a customer may see and redeem: active, in stock, valid at ``now``."""
    return [
        col(Reward.status) == RewardStatus.ACTIVE.value,
        col(Reward.stock) > 0,
        col(Reward.starts_at) <= now,
        col(Reward.ends_at) > now,
    ]


def _checked(terms: RewardTerms) -> RewardTerms:
    if terms.status is RewardStatus.RETIRED:
        raise BadUserInput("retire a reward with retireReward", field="status")
    if terms.points_price is not None and not 1 <= terms.points_price <= MAX_PRICE:
        raise BadUserInput(f"pointsPrice must be 1 to {MAX_PRICE:,}", field="pointsPrice")
    if terms.stock is not None and not 0 <= terms.stock <= MAX_STOCK:
        raise BadUserInput(f"stock must be 0 to {MAX_STOCK:,}", field="stock")
    name = None
    if terms.name is not None:
        name = checked_text("name", terms.name, required=True, limit=OFFER_TITLE)
    description = terms.description
    if description is not None:
        description = checked_text(
            "description", description, required=False, limit=OFFER_DESCRIPTION
        )
    return replace(terms, name=name, description=description)


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise BadUserInput("endsAt must be after startsAt", field="endsAt")


def _event(make: Callable[..., AuditEvent], action: str, reward: Reward) -> AuditEvent:
    return make(
        action,
        target_type="Reward",
        target_id=str(reward.id),
        details={
            "status": reward.status,
            "pointsPrice": reward.points_price,
            "stock": reward.stock,
            "version": reward.version,
        },
    )


async def create_reward(
    *,
    session: AsyncSession,
    principal: Principal,
    terms: RewardTerms,
    audit_event: Callable[..., AuditEvent],
) -> Reward:
    checked = _checked(terms)
    if checked.name is None or checked.points_price is None or checked.stock is None:
        raise BadUserInput("name, pointsPrice and stock are required", field="name")
    if checked.starts_at is None or checked.ends_at is None:
        raise BadUserInput("startsAt and endsAt are required", field="startsAt")
    _check_window(checked.starts_at, checked.ends_at)
    reward = Reward(
        name=checked.name,
        description=checked.description or "",
        points_price=checked.points_price,
        stock=checked.stock,
        starts_at=checked.starts_at,
        ends_at=checked.ends_at,
        status=(checked.status or RewardStatus.ACTIVE).value,
        created_by=principal.staff_id,
    )
    session.add(reward)
    await session.flush()
    await audit.record_and_commit(session, _event(audit_event, CREATE_ACTION, reward))
    return reward


async def _versioned(
    session: AsyncSession, reward_id: uuid.UUID, version: int, values: dict[str, Any]
) -> Reward:
    """Writes ``values`` if the reward is still at ``version`` and not retired."""
    current = await session.get(Reward, reward_id)
    if current is None:
        raise NotFound(NOT_FOUND, field="rewardId")
    if current.status == RewardStatus.RETIRED.value:
        raise Conflict("the reward is retired: it can no longer change", field="rewardId")
    result = await session.execute(
        update(Reward)
        .where(col(Reward.id) == reward_id, col(Reward.version) == version)
        .values(**values, version=col(Reward.version) + 1, updated_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("the reward changed since you read it: reload it", field="version")
    fresh = await session.get(Reward, reward_id, populate_existing=True)
    assert fresh is not None
    return fresh


async def update_reward(
    *,
    session: AsyncSession,
    reward_id: uuid.UUID,
    version: int,
    terms: RewardTerms,
    audit_event: Callable[..., AuditEvent],
) -> Reward:
    checked = _checked(terms)
    current = await session.get(Reward, reward_id)
    if current is None:
        raise NotFound(NOT_FOUND, field="rewardId")
    _check_window(checked.starts_at or current.starts_at, checked.ends_at or current.ends_at)
    values = {
        name: (value.value if isinstance(value, RewardStatus) else value)
        for name, value in vars(checked).items()
        if value is not None
    }
    reward = await _versioned(session, reward_id, version, values)
    await audit.record_and_commit(session, _event(audit_event, UPDATE_ACTION, reward))
    return reward


async def retire_reward(
    *,
    session: AsyncSession,
    reward_id: uuid.UUID,
    version: int,
    audit_event: Callable[..., AuditEvent],
) -> Reward:
    reward = await _versioned(session, reward_id, version, {"status": RewardStatus.RETIRED.value})
    await audit.record_and_commit(session, _event(audit_event, RETIRE_ACTION, reward))
    return reward


async def list_rewards(
    *,
    db: Any,
    principal: Principal,
    settings: Settings,
    status: RewardStatus | None,
    page: PageArgs,
) -> tuple[Page[Reward], Callable[[], Awaitable[int]]]:
    """Staff: the whole catalogue (optionally one status); customers: what they may redeem
    now. Newest first."""
    conditions: list[Any] = []
    if not principal.is_staff:
        conditions.extend(redeemable_now(utcnow()))
    if status is not None:
        conditions.append(col(Reward.status) == status.value)
    args = page.validated(settings.default_page_size, settings.max_page_size)
    return await page_with_count(
        db,
        Reward,
        conditions,
        sort_col=col(Reward.created_at),
        id_col=col(Reward.id),
        args=args,
    )
