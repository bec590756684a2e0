"""``targetOffer``: assign a live offer to every eligible customer who consented to marketing.

Set-based, in a constant number of statements whatever the number of customers: SQL selects
the candidates it can judge cheaply (tier, stage, marketing consent, not yet assigned, has
metrics when the offer has spend rules) and streams them; ``offer_eligibility.is_eligible``
judges each one in full (segments and category spend live in JSON columns, which SQLite and
PostgreSQL query differently); the chosen ones go in with one bulk INSERT. Re-running assigns
nobody twice (the candidates exclude the assigned, and the unique (offer, customer) pair
backs that up with ON CONFLICT DO NOTHING).

The quota bounds the offer's assignments in total. When more customers qualify than it has
room for, the room goes to those with the strongest spend affinity for the offer's
categories, and the rest are reported as ``skipped_over_quota``.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.errors import Conflict, NotFound
from core.identity import Principal
from models.columns import new_id, utcnow
from models.customers.customer import Customer
from models.growth.offer import AssignmentStatus, Offer, OfferAssignment
from resolvers.growth.eligibility import (
    Eligibility,
    affinity,
    is_eligible,
    marketing_consent,
    offer_categories,
    prefilter,
    profile_of,
    profile_query,
)
from resolvers.growth.offer_workflow import effective_status, is_live
from resolvers.growth.offers import NOT_FOUND_MESSAGE, require_writer

STREAM_ROWS = 2000
INSERT_ROWS = 1000


@dataclass(frozen=True)
class TargetingResult:
    offer: Offer
    targeted: int
    skipped_over_quota: int


async def _locked_offer(session: AsyncSession, offer_id: uuid.UUID) -> Offer:
    """The offer, locked for this transaction: ``SET version = version`` takes the row lock on
    PostgreSQL and the write lock on SQLite before anything is counted, so two targeting runs
    of one offer queue instead of both filling the same room under the quota."""
    locked = await session.execute(
        update(Offer).where(col(Offer.id) == offer_id).values(version=col(Offer.version))
    )
    offer = await session.scalar(select(Offer).where(col(Offer.id) == offer_id))
    if locked.rowcount != 1 or offer is None:  # type: ignore[attr-defined]
        raise NotFound(NOT_FOUND_MESSAGE, field="offerId")
    return offer


async def _assigned(session: AsyncSession, offer_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(OfferAssignment)
        .where(col(OfferAssignment.offer_id) == offer_id)
    )
    return int(count or 0)


async def _eligible_customers(
    session: AsyncSession, offer: Offer, room: int | None, audience: Sequence[Any] = ()
) -> tuple[list[uuid.UUID], int]:
    """The customers to assign (at most ``room``, best affinity first) and how many qualified,
    among the ``audience`` (conditions on ``customers``; none: everyone)."""
    rules = Eligibility.of(offer)
    categories = offer_categories(offer)
    already = exists().where(
        col(OfferAssignment.offer_id) == offer.id,
        col(OfferAssignment.customer_id) == col(Customer.id),
    )
    query = profile_query().where(marketing_consent(), ~already, *prefilter(rules), *audience)
    ranked: list[tuple[float, str, uuid.UUID]] = []
    result = await session.stream(query.execution_options(yield_per=STREAM_ROWS))
    async for row in result:
        profile = profile_of(row)
        if is_eligible(rules, profile):
            score = affinity(profile.spend, categories)
            ranked.append((score, str(profile.customer_id), profile.customer_id))
    if room is None or len(ranked) <= room:
        return [customer_id for *_, customer_id in ranked], len(ranked)
    best = heapq.nlargest(room, ranked)
    return [customer_id for *_, customer_id in best], len(ranked)


def _insert_ignoring_duplicates(session: AsyncSession) -> Any:
    table: Any = OfferAssignment.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return insert(table)


async def _assign(session: AsyncSession, offer: Offer, customer_ids: list[uuid.UUID]) -> None:
    now = utcnow()
    statement = _insert_ignoring_duplicates(session)
    for start in range(0, len(customer_ids), INSERT_ROWS):
        rows = [
            {
                "id": new_id(),
                "offer_id": offer.id,
                "customer_id": customer_id,
                "status": AssignmentStatus.TARGETED.value,
                "targeted_at": now,
            }
            for customer_id in customer_ids[start : start + INSERT_ROWS]
        ]
        await session.execute(statement, rows)


async def target_offer(
    *,
    session: AsyncSession,
    principal: Principal,
    offer_id: uuid.UUID,
    audit_event: Callable[..., AuditEvent],
    audience: Sequence[Any] = (),
    segment: str | None = None,
) -> TargetingResult:
    """``audience``: the conditions of a saved segment (named ``segment``, for the audit), which
    the offer's own eligibility and marketing consent narrow further."""
    require_writer(principal)
    offer = await _locked_offer(session, offer_id)
    now = utcnow()
    if not is_live(offer, now):
        status = effective_status(offer, now).value
        when = "" if offer.starts_at <= now else f", starting {offer.starts_at.isoformat()}"
        raise Conflict(
            f"only an active offer inside its validity window can be targeted; "
            f"this one is {status}{when}",
            field="offerId",
        )
    before = await _assigned(session, offer.id)
    room = None if offer.quota is None else max(offer.quota - before, 0)
    chosen, qualified = await _eligible_customers(session, offer, room, audience)
    await _assign(session, offer, chosen)
    targeted = await _assigned(session, offer.id) - before
    await audit.record_and_commit(
        session,
        audit_event(
            "offer.target",
            target_type="Offer",
            target_id=str(offer.id),
            details={
                "targeted": targeted,
                "skippedOverQuota": qualified - len(chosen),
                **({"segment": segment} if segment is not None else {}),
            },
        ),
    )
    return TargetingResult(offer, targeted, qualified - len(chosen))
