"""Offers for marketers: create, update, move through the workflow, and list them (SPEC §3).

Marketers (and admins) with ``offers:write`` write offers; staff with ``offers:read`` read them
(the scopes, and staff only, are declared on the GraphQL fields: ``schema.scope_field``; the
roles are checked here). Every write checks the caller holds the offer's current ``version``
(else CONFLICT, nothing written), writes with ``WHERE version = …`` so a concurrent writer
cannot be overwritten, and lands together with its audit entry. The status machine lives in
``resolvers.growth.offer_workflow``; the cost of a redemption in ``resolvers.growth.benefit``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.errors import BadUserInput, Conflict, Forbidden, NotFound
from core.identity import Principal, Role
from core.request_database import RequestDatabase
from core.settings import Settings
from models.columns import utcnow
from models.growth.offer import Offer, OfferStatus
from models.merchants.merchant import Merchant
from resolvers.growth.offer_input import OfferTerms
from resolvers.growth.offer_workflow import (
    EDITABLE,
    OFFER_WORKFLOW,
    OfferAction,
    effective_status,
)
from resolvers.pagination import Page, PageArgs, page_with_count

NOT_FOUND_MESSAGE = "no offer with this id is visible to you"
_WRITERS = frozenset({Role.MARKETER, Role.ADMIN})
AuditEventFactory = Callable[..., AuditEvent]


def require_writer(principal: Principal) -> None:
    """Marketers and admins; the ``offers:write`` scope is declared on each mutation field."""
    if principal.role not in _WRITERS:
        raise Forbidden("only marketers and admins write offers")


async def _checked_merchant(session: AsyncSession, merchant_id: uuid.UUID) -> None:
    if await session.scalar(select(Merchant.id).where(col(Merchant.id) == merchant_id)) is None:
        raise BadUserInput("no merchant with this id", field="merchantId")


def _event(
    audit_event: AuditEventFactory, action: str, offer_id: uuid.UUID, **kwargs: Any
) -> AuditEvent:
    return audit_event(f"offer.{action}", target_type="Offer", target_id=str(offer_id), **kwargs)


async def create_offer(
    *,
    session: AsyncSession,
    principal: Principal,
    terms: OfferTerms,
    audit_event: AuditEventFactory,
) -> Offer:
    """A new offer, in draft: nobody sees it until it is activated."""
    require_writer(principal)
    terms = terms.checked()
    await _checked_merchant(session, terms.merchant_id)
    now = utcnow()
    offer = Offer(
        **terms.columns(),
        status=OfferStatus.DRAFT,
        created_by=principal.staff_id,
        created_at=now,
        updated_at=now,
    )
    session.add(offer)
    await session.flush()
    await audit.record_and_commit(session, _event(audit_event, "create", offer.id))
    return offer


async def _current(session: AsyncSession, offer_id: uuid.UUID, version: int) -> Offer:
    offer = await session.scalar(select(Offer).where(col(Offer.id) == offer_id))
    if offer is None:
        raise NotFound(NOT_FOUND_MESSAGE, field="id")
    if offer.version != version:
        raise Conflict(
            f"the offer is at version {offer.version}, not {version}; reload it and retry",
            field="version",
        )
    return offer


async def _write(
    session: AsyncSession, offer: Offer, version: int, values: dict[str, Any], event: AuditEvent
) -> Offer:
    """Writes ``values`` if nobody changed the offer since ``version``, with its audit entry."""
    values.update(version=version + 1, updated_at=utcnow())
    session.expunge(offer)
    result = await session.execute(
        update(Offer).where(col(Offer.id) == offer.id, col(Offer.version) == version).values(values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Conflict("the offer changed meanwhile; reload it and retry", field="version")
    await audit.record_and_commit(session, event)
    fresh = await session.get(Offer, offer.id, populate_existing=True)
    assert fresh is not None
    return fresh


@dataclass(frozen=True)
class OfferChanges:
    offer_id: uuid.UUID
    version: int
    # Column name → new value; only what the caller gave (None clears quota or budget).
    values: dict[str, Any] = field(default_factory=dict)


async def update_offer(
    *,
    session: AsyncSession,
    principal: Principal,
    changes: OfferChanges,
    audit_event: AuditEventFactory,
) -> Offer:
    require_writer(principal)
    if not changes.values:
        raise BadUserInput("nothing to change: pass at least one field besides id and version")
    offer = await _current(session, changes.offer_id, changes.version)
    status = effective_status(offer, utcnow())
    if status not in EDITABLE:
        raise Conflict(f"an {status.value} offer can no longer be changed", field="id")
    terms = OfferTerms.of(offer).merged(changes.values).checked()
    if terms.merchant_id != offer.merchant_id:
        await _checked_merchant(session, terms.merchant_id)
    values = {k: v for k, v in terms.columns().items() if v != getattr(offer, k)}
    if not values:
        return offer  # the same terms again: nothing to write, no new version
    event = _event(audit_event, "update", offer.id, fields=sorted(values))
    return await _write(session, offer, changes.version, values, event)


async def change_offer_status(
    *,
    session: AsyncSession,
    principal: Principal,
    offer_id: uuid.UUID,
    version: int,
    action: OfferAction,
    audit_event: AuditEventFactory,
) -> Offer:
    """Activates, pauses or expires an offer, as the workflow table allows."""
    require_writer(principal)
    offer = await _current(session, offer_id, version)
    before = effective_status(offer, utcnow())
    after = OFFER_WORKFLOW.next_state(before, action)
    event = _event(
        audit_event, action.value, offer.id, details={"from": before.value, "to": after.value}
    )
    return await _write(session, offer, version, {"status": after.value}, event)


@dataclass(frozen=True)
class OfferFilter:
    status: OfferStatus | None = None
    merchant_id: uuid.UUID | None = None
    category: str | None = None


def status_condition(status: OfferStatus, now: datetime) -> ColumnElement[bool]:
    """SQL for the *effective* status: past its window, an offer is expired."""
    if status is OfferStatus.EXPIRED:
        return or_(col(Offer.status) == status.value, col(Offer.ends_at) <= now)
    return and_(col(Offer.status) == status.value, col(Offer.ends_at) > now)


def _conditions(filter: OfferFilter) -> list[Any]:
    conditions: list[Any] = []
    if filter.status is not None:
        conditions.append(status_condition(filter.status, utcnow()))
    if filter.merchant_id is not None:
        conditions.append(col(Offer.merchant_id) == filter.merchant_id)
    if filter.category is not None:
        conditions.append(col(Offer.category) == filter.category)
    return conditions


async def list_offers(
    *,
    db: RequestDatabase,
    settings: Settings,
    filter: OfferFilter,
    page: PageArgs,
) -> tuple[Page[Offer], Callable[[], Awaitable[int]]]:
    """Offers, newest first, for staff with ``offers:read`` (declared on the ``offers`` field;
    merchants see theirs through ``merchantOffers``, customers theirs through their
    assignments)."""
    return await page_with_count(
        db,
        Offer,
        _conditions(filter),
        sort_col=col(Offer.created_at),
        id_col=col(Offer.id),
        args=page.validated(settings.default_page_size, settings.max_page_size),
    )


async def get_offer(*, db: RequestDatabase, offer_id: uuid.UUID) -> Offer:
    """One offer, for staff with ``offers:read`` (declared on ``offer``; ``node`` checks it)."""
    rows = await db.scalars(select(Offer).where(col(Offer.id) == offer_id))
    if not rows:
        raise NotFound(NOT_FOUND_MESSAGE)
    offer: Offer = rows[0]
    return offer
