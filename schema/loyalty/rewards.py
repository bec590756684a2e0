"""The rewards catalogue and redeeming a reward: the ``rewards`` list, ``createReward``,
``updateReward``, ``retireReward`` (marketers and admins) and ``redeemReward`` (the customer
in the app), each a thin call into ``resolvers.loyalty``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core.context import Context, Info
from core.identity import Scope
from models.loyalty.reward import Reward as RewardRow
from models.loyalty.reward import RewardRedemption as RedemptionRow
from models.loyalty.reward import RewardStatus
from resolvers.loyalty import rewards
from resolvers.loyalty.redemption import Redeemed, redeem_reward
from resolvers.pagination import PageArgs
from schema.common import UserError, mutation_payload, payload_field
from schema.described import optional_field
from schema.relay import After, Connection, First, Node, to_global_id, uuid_of
from schema.scope_field import scoped_field

VERSION = "The reward's `version` you last read; CONFLICT if it has changed since."
ERRORS = " userErrors: NOT_FOUND, CONFLICT (stale version, retired), BAD_USER_INPUT, FORBIDDEN."


@strawberry.type(description="A reward of the points catalogue (积分商城).")
class Reward(Node):
    name: str = strawberry.field(description="What the customer gets.")
    description: str = strawberry.field(description="Details and conditions; may be empty.")
    points_price: int = strawberry.field(description="What one redemption costs, in points.")
    stock: int = strawberry.field(description="How many are left to redeem.")
    starts_at: datetime = strawberry.field(description="Redeemable from this instant.")
    ends_at: datetime = strawberry.field(description="Redeemable until just before this instant.")
    status: RewardStatus = strawberry.field(description="Draft, active or retired.")
    version: int = strawberry.field(description="Pass it back to update or retire the reward.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_row(cls, row: RewardRow) -> Reward:
        return cls(
            id=to_global_id("Reward", row.id),
            name=row.name,
            description=row.description,
            points_price=row.points_price,
            stock=row.stock,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            status=RewardStatus(row.status),
            version=row.version,
            updated_at=row.updated_at,
        )


@strawberry.type(description="One redemption of a reward by a customer.")
class RewardRedemption:
    id: strawberry.ID = strawberry.field(description="The redemption's ID.")
    reward: Reward = strawberry.field(description="The reward redeemed.")
    points: int = strawberry.field(description="The points it cost.")
    created_at: datetime = strawberry.field(description="When it was redeemed.")

    @classmethod
    def of(cls, row: RedemptionRow, reward: RewardRow) -> RewardRedemption:
        return cls(
            id=to_global_id("RewardRedemption", row.id),
            reward=Reward.from_row(reward),
            points=row.points,
            created_at=row.created_at,
        )


@strawberry.input(description="A new reward of the catalogue.")
class CreateRewardInput:
    name: str = strawberry.field(description="Required, at most 200 characters.")
    points_price: int = strawberry.field(description="Its price in points, at least 1.")
    stock: int = strawberry.field(description="How many can be redeemed, 0 or more.")
    starts_at: datetime = strawberry.field(description="Redeemable from this instant.")
    ends_at: datetime = strawberry.field(description="Redeemable until this instant (after start).")
    description: str | None = optional_field("Details, at most 2,000 characters.")
    status: RewardStatus | None = optional_field("DRAFT or ACTIVE (the default).")


@strawberry.input(description="Changes to a reward; omitted fields keep their value.")
class UpdateRewardInput:
    reward_id: strawberry.ID = strawberry.field(description="The reward's `id`.")
    version: int = strawberry.field(description=VERSION)
    name: str | None = optional_field("A new name, at most 200 characters.")
    description: str | None = optional_field("New details, at most 2,000 characters.")
    points_price: int | None = optional_field("A new price in points, at least 1.")
    stock: int | None = optional_field("The stock left, 0 or more.")
    starts_at: datetime | None = optional_field("A new start.")
    ends_at: datetime | None = optional_field("A new end, after the start.")
    status: RewardStatus | None = optional_field("DRAFT or ACTIVE; RETIRED only by retireReward.")


@strawberry.input(description="Withdraws a reward for good.")
class RetireRewardInput:
    reward_id: strawberry.ID = strawberry.field(description="The reward's `id`.")
    version: int = strawberry.field(description=VERSION)


@strawberry.input(description="A customer's redemption of a reward.")
class RedeemRewardInput:
    reward_id: strawberry.ID = strawberry.field(description="The reward's `id`.")
    idempotency_key: str = strawberry.field(
        description="Chosen by the app per redemption (1–128 characters): a retry with the same "
        "key answers the same redemption and spends nothing again."
    )


@strawberry.input(description="Narrows the rewards list (staff).")
class RewardFilter:
    status: RewardStatus | None = optional_field("Only rewards in this status.")


@strawberry.type(description="The outcome of a catalogue mutation.")
class RewardPayload:
    reward: Reward | None = payload_field("The reward as it is now; null on userErrors.")
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, row: RewardRow) -> RewardPayload:
        return cls(reward=Reward.from_row(row))


@strawberry.type(description="The outcome of redeemReward.")
class RedeemRewardPayload:
    redemption: RewardRedemption | None = payload_field(
        "The redemption (the first one, for a retried key); null on userErrors."
    )
    balance: int | None = payload_field("The customer's points balance after it.")
    user_errors: list[UserError] = payload_field(
        "Why nothing was spent: INSUFFICIENT_POINTS, OUT_OF_STOCK, NOT_FOUND (no such "
        "redeemable reward), CONFLICT (the key was used for another reward), BAD_USER_INPUT.",
        list,
    )

    @classmethod
    def of(cls, done: Redeemed) -> RedeemRewardPayload:
        return cls(
            redemption=RewardRedemption.of(done.redemption, done.reward), balance=done.balance
        )


def _terms(source: Any) -> rewards.RewardTerms:
    return rewards.RewardTerms(
        name=source.name,
        description=source.description,
        points_price=source.points_price,
        stock=source.stock,
        starts_at=source.starts_at,
        ends_at=source.ends_at,
        status=source.status,
    )


@strawberry.type
class RewardQuery:
    @scoped_field(
        Scope.POINTS_READ,
        "The rewards catalogue, newest first: staff see every reward; customers only those "
        "they may redeem now (active, in stock, valid).",
    )
    async def rewards(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            RewardFilter | None, strawberry.argument(description="Only the matching ones.")
        ] = None,
    ) -> Connection[Reward] | None:
        page, count = await rewards.list_rewards(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            status=filter.status if filter else None,
            page=PageArgs(first, after),
        )
        return Connection.build(page, Reward.from_row, count)


def _arg(what: str) -> Any:
    return strawberry.argument(description=what)


@strawberry.type
class RewardMutation:
    @scoped_field(
        Scope.REWARDS_WRITE, "Adds a reward to the catalogue; audited." + ERRORS, staff_only=True
    )
    async def create_reward(
        self, info: Info, input: Annotated[CreateRewardInput, _arg("The reward.")]
    ) -> RewardPayload:
        async def write(session: AsyncSession, ctx: Context) -> RewardRow:
            return await rewards.create_reward(
                session=session,
                principal=ctx.principal,
                terms=_terms(input),
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, RewardPayload, write, RewardPayload.of)

    @scoped_field(
        Scope.REWARDS_WRITE,
        "Changes a reward (not a retired one), checking its version; audited." + ERRORS,
        staff_only=True,
    )
    async def update_reward(
        self, info: Info, input: Annotated[UpdateRewardInput, _arg("The changes.")]
    ) -> RewardPayload:
        async def write(session: AsyncSession, ctx: Context) -> RewardRow:
            return await rewards.update_reward(
                session=session,
                reward_id=uuid_of(input.reward_id, "Reward", field="rewardId"),
                version=input.version,
                terms=_terms(input),
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, RewardPayload, write, RewardPayload.of)

    @scoped_field(
        Scope.REWARDS_WRITE,
        "Retires a reward for good: no longer listed for customers nor redeemable; audited."
        + ERRORS,
        staff_only=True,
    )
    async def retire_reward(
        self, info: Info, input: Annotated[RetireRewardInput, _arg("The reward.")]
    ) -> RewardPayload:
        async def write(session: AsyncSession, ctx: Context) -> RewardRow:
            return await rewards.retire_reward(
                session=session,
                reward_id=uuid_of(input.reward_id, "Reward", field="rewardId"),
                version=input.version,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, RewardPayload, write, RewardPayload.of)

    @scoped_field(
        Scope.REWARDS_REDEEM,
        "The customer spends points on a reward, exactly once per idempotencyKey: the stock "
        "and the balance are checked and taken in one transaction; audited, refusals too.",
    )
    async def redeem_reward(
        self, info: Info, input: Annotated[RedeemRewardInput, _arg("The redemption.")]
    ) -> RedeemRewardPayload:
        async def write(session: AsyncSession, ctx: Context) -> Redeemed:
            return await redeem_reward(
                session=session,
                principal=ctx.principal,
                reward_id=uuid_of(input.reward_id, "Reward", field="rewardId"),
                idempotency_key=input.idempotency_key,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, RedeemRewardPayload, write, RedeemRewardPayload.of)
