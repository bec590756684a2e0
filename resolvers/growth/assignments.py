"""The customer's side of offers: their assignments, viewing one, accepting one (SPEC §3).

Only the customer themself views or accepts; staff with ``offers:read`` may read the
assignments of customers in their scope (never the redemption code: see ``auth.policy``).
An assignment outside the caller's scope is NOT_FOUND. Accepting needs the offer to be live
(active, inside its window) and issues the one-time redemption code, sealed at rest
(``resolvers.growth.codes``); viewing and accepting again change nothing.

Pages of assignments for many customers load in one statement per page shape
(``row_number() over (partition by customer)``), with the offer and merchant name joined, so
a list of customers with their offers costs the same few statements as one customer.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, false, func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from auth import outbox
from core.encryption import KeyRing
from core.errors import Conflict, Forbidden, NotFound
from core.identity import Principal, Scope
from models.columns import utcnow
from models.customer_keys import ensure_customer_keys
from models.customers.customer import Customer
from models.growth.offer import AssignmentStatus, Offer, OfferAssignment, OfferStatus
from models.merchants.merchant import Merchant
from resolvers.growth.codes import issue_code
from resolvers.growth.offer_workflow import (
    ASSIGNMENT_WORKFLOW,
    AssignmentAction,
    effective_assignment_status,
    effective_status,
    is_live,
)
from resolvers.pagination import Page, decode_cursor, encode_cursor
from resolvers.scoping import customer_scope

if TYPE_CHECKING:
    from core.context import Context
    from core.request_database import RequestDatabase

NOT_FOUND_MESSAGE = "no offer assignment with this id is visible to you"


@dataclass(frozen=True)
class AssignmentView:
    """An assignment with the offer it is for and the merchant's name, as customers see it."""

    assignment: OfferAssignment
    offer: Offer
    merchant_name: str

    def status(self, now: datetime) -> AssignmentStatus:
        return effective_assignment_status(self.assignment, self.offer, now)


def assignment_scope(principal: Principal) -> ColumnElement[bool]:
    """A customer: their own; staff with ``offers:read``: those of customers in their scope."""
    if not principal.has(Scope.OFFERS_READ):
        return false()
    if principal.customer_id is not None:
        return col(OfferAssignment.customer_id) == principal.customer_id
    if principal.is_staff:
        return col(OfferAssignment.customer_id).in_(
            select(Customer.id).where(customer_scope(principal))
        )
    return false()


def assignment_status_condition(status: AssignmentStatus, now: datetime) -> ColumnElement[bool]:
    """SQL for the *effective* status (needs ``offers`` joined): unredeemed assignments expire
    with their offer."""
    offer_over = or_(col(Offer.status) == OfferStatus.EXPIRED.value, col(Offer.ends_at) <= now)
    redeemed = col(OfferAssignment.status) == AssignmentStatus.REDEEMED.value
    if status is AssignmentStatus.REDEEMED:
        return redeemed
    if status is AssignmentStatus.EXPIRED:
        return or_(col(OfferAssignment.status) == status.value, and_(~redeemed, offer_over))
    return and_(col(OfferAssignment.status) == status.value, ~offer_over)


def _views_query() -> Any:
    return (
        select(OfferAssignment, Offer, col(Merchant.name))
        .join(Offer, col(Offer.id) == col(OfferAssignment.offer_id))
        .join(Merchant, col(Merchant.id) == col(Offer.merchant_id))
    )


def _view(row: Any) -> AssignmentView:
    assignment, offer, merchant_name = row
    return AssignmentView(assignment, offer, merchant_name)


async def get_assignment(
    *, db: RequestDatabase, principal: Principal, assignment_id: uuid.UUID
) -> AssignmentView:
    result = await db.execute(
        _views_query().where(col(OfferAssignment.id) == assignment_id, assignment_scope(principal))
    )
    row = result.first()
    if row is None:
        raise NotFound(NOT_FOUND_MESSAGE)
    return _view(row)


async def _own_assignment(
    session: AsyncSession, principal: Principal, assignment_id: uuid.UUID
) -> AssignmentView:
    if principal.customer_id is None:
        raise Forbidden("only the customer themself views or accepts their offers")
    row = (
        await session.execute(
            _views_query().where(
                col(OfferAssignment.id) == assignment_id,
                col(OfferAssignment.customer_id) == principal.customer_id,
            )
        )
    ).first()
    if row is None:
        raise NotFound(NOT_FOUND_MESSAGE, field="assignmentId")
    return _view(row)


def _refuse_unless_live(offer: Offer, now: datetime) -> None:
    if is_live(offer, now):
        return
    status = effective_status(offer, now)
    if status is OfferStatus.ACTIVE:
        reason = f"this offer starts at {offer.starts_at.isoformat()}"
    else:
        reason = f"this offer is {status.value}"
    raise Conflict(f"{reason}; it cannot be accepted now", field="assignmentId")


def _values(
    ring: KeyRing, assignment: OfferAssignment, to: AssignmentStatus, now: datetime
) -> dict[str, Any]:
    values: dict[str, Any] = {"status": to.value, "viewed_at": assignment.viewed_at or now}
    if to is AssignmentStatus.ACCEPTED:
        issue_code(ring, assignment)  # seals the code onto the row; read back by its owner
        values.update(accepted_at=now, code_enc=assignment.code_enc, code_bidx=assignment.code_bidx)
    return values


async def change_assignment(
    *,
    session: AsyncSession,
    ring: KeyRing,
    principal: Principal,
    assignment_id: uuid.UUID,
    action: AssignmentAction,
) -> AssignmentView:
    """Views or accepts an assignment; a repeat changes nothing and returns it as it is."""
    view = await _own_assignment(session, principal, assignment_id)
    now = utcnow()
    if action is AssignmentAction.ACCEPT and view.status(now) is not AssignmentStatus.ACCEPTED:
        _refuse_unless_live(view.offer, now)
    to = ASSIGNMENT_WORKFLOW.step(view.status(now), action)
    if to is None:
        return view
    assignment = view.assignment
    await ensure_customer_keys(session, ring, [assignment.customer_id])  # the code is theirs
    values = _values(ring, assignment, to, now)
    session.expunge(assignment)
    allowed = [s.value for s in ASSIGNMENT_WORKFLOW.allowed_from(action)]
    result = await session.execute(
        update(OfferAssignment)
        .where(col(OfferAssignment.id) == assignment.id, col(OfferAssignment.status).in_(allowed))
        .values(values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()  # a second tap won the race: answer with what it did
        fresh_view = await _own_assignment(session, principal, assignment_id)
        if ASSIGNMENT_WORKFLOW.step(fresh_view.status(utcnow()), action) is None:
            return fresh_view
        raise Conflict("the offer changed meanwhile; reload it and retry", field="assignmentId")
    if to is AssignmentStatus.ACCEPTED:
        await outbox.emit(
            session,
            "offer.accepted",
            "Customer",
            assignment.customer_id,
            offerId=outbox.global_id("Offer", assignment.offer_id),
            assignmentId=outbox.global_id("OfferAssignment", assignment.id),
        )
    await session.commit()
    fresh = await session.get(OfferAssignment, assignment.id, populate_existing=True)
    assert fresh is not None
    return AssignmentView(fresh, view.offer, view.merchant_name)


@dataclass(frozen=True)
class AssignmentPageKey:
    """One customer's page of assignments; keys with equal (first, after, status) batch."""

    customer_id: uuid.UUID
    first: int
    after: str | None
    status: AssignmentStatus | None


class AssignmentPagesByCustomerLoader(DataLoader[AssignmentPageKey, Page[AssignmentView]]):
    """Newest first; one statement per distinct page shape, whatever the number of customers."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[AssignmentPageKey]) -> list[Page[AssignmentView]]:
        shapes: dict[tuple[int, str | None, AssignmentStatus | None], list[AssignmentPageKey]]
        shapes = defaultdict(list)
        for key in keys:
            shapes[(key.first, key.after, key.status)].append(key)
        pages: dict[AssignmentPageKey, Page[AssignmentView]] = {}
        for (first, after, status), group in shapes.items():
            customers = [key.customer_id for key in group]
            by_customer = await self._rows(customers, first, after, status)
            for key in group:
                pages[key] = _page(by_customer.get(key.customer_id, []), first, after)
        return [pages[key] for key in keys]

    async def _rows(
        self,
        customers: list[uuid.UUID],
        first: int,
        after: str | None,
        status: AssignmentStatus | None,
    ) -> dict[uuid.UUID, list[AssignmentView]]:
        conditions = _page_conditions(customers, after, status)
        newest = (col(OfferAssignment.targeted_at).desc(), col(OfferAssignment.id).desc())
        rank = func.row_number().over(
            partition_by=col(OfferAssignment.customer_id), order_by=newest
        )
        ranked = (
            select(col(OfferAssignment.id).label("assignment_id"), rank.label("rank"))
            .join(Offer, col(Offer.id) == col(OfferAssignment.offer_id))
            .where(*conditions)
            .subquery()
        )
        result = await self._db.execute(
            _views_query()
            .join(ranked, ranked.c.assignment_id == col(OfferAssignment.id))
            .where(ranked.c.rank <= first + 1)
            .order_by(col(OfferAssignment.customer_id), ranked.c.rank)
        )
        grouped: dict[uuid.UUID, list[AssignmentView]] = defaultdict(list)
        for row in result.all():
            view = _view(row)
            grouped[view.assignment.customer_id].append(view)
        return grouped


def _page_conditions(
    customers: list[uuid.UUID], after: str | None, status: AssignmentStatus | None
) -> list[Any]:
    conditions: list[Any] = [col(OfferAssignment.customer_id).in_(customers)]
    if status is not None:
        conditions.append(assignment_status_condition(status, utcnow()))
    if after is not None:
        targeted, row_id = decode_cursor(after, "after")
        conditions.append(
            or_(
                col(OfferAssignment.targeted_at) < targeted,
                and_(
                    col(OfferAssignment.targeted_at) == targeted,
                    col(OfferAssignment.id) < row_id,
                ),
            )
        )
    return conditions


def _page(rows: list[AssignmentView], first: int, after: str | None) -> Page[AssignmentView]:
    edges = [
        (encode_cursor(view.assignment.targeted_at, view.assignment.id), view)
        for view in rows[:first]
    ]
    return Page(edges, has_next_page=len(rows) > first, has_previous_page=after is not None)


class AssignmentCountByCustomerLoader(DataLoader[tuple[uuid.UUID, AssignmentStatus | None], int]):
    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self._db = context.db

    async def _load(self, keys: Sequence[tuple[uuid.UUID, AssignmentStatus | None]]) -> list[int]:
        counts: dict[tuple[uuid.UUID, AssignmentStatus | None], int] = {}
        for status in {status for _, status in keys}:
            ids = [customer_id for customer_id, s in keys if s == status]
            conditions = _page_conditions(ids, None, status)
            result = await self._db.execute(
                select(col(OfferAssignment.customer_id), func.count().label("n"))
                .join(Offer, col(Offer.id) == col(OfferAssignment.offer_id))
                .where(*conditions)
                .group_by(col(OfferAssignment.customer_id))
            )
            found = {row.customer_id: int(row.n) for row in result.all()}
            counts.update({(customer_id, status): found.get(customer_id, 0) for customer_id in ids})
        return [counts[key] for key in keys]
