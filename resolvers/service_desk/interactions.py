"""Interactions: logging a contact (with the contact rules) and reading them in scope."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from core import text_limits
from core.encryption import KeyRing
from core.errors import BadUserInput, Forbidden, NotFound
from core.identity import Principal, Role
from core.instants import require_offsets
from core.request_database import RequestDatabase
from core.settings import Settings
from core.text_limits import checked_text
from models.columns import utcnow
from models.customer_keys import ensure_customer_keys
from models.customers.customer import Customer
from models.sealing import seal_field
from models.service_desk.complaint import Complaint
from models.service_desk.interaction import Interaction, InteractionChannel, InteractionKind
from resolvers.pagination import Page, PageArgs, page_with_count
from resolvers.scoping import customer_scope
from resolvers.service_desk.contact_rules import check_contact

_LOGGING_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT})
CLOCK_SKEW = timedelta(minutes=5)


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@dataclass(frozen=True)
class NewInteraction:
    customer_id: uuid.UUID
    channel: InteractionChannel
    direction: Direction
    kind: InteractionKind
    subject: str
    notes: str | None = None
    outcome: str | None = None
    satisfaction: int | None = None
    complaint_id: uuid.UUID | None = None
    occurred_at: datetime | None = None

    def __post_init__(self) -> None:
        require_offsets(occurredAt=self.occurred_at)


def _checked_fields(data: NewInteraction) -> tuple[str, datetime]:
    subject = checked_text("subject", data.subject, required=True)
    assert subject is not None
    text_limits.bounded("subject", subject, text_limits.SUBJECT)
    if data.outcome is not None:
        text_limits.bounded("outcome", data.outcome, text_limits.OUTCOME)
    if data.satisfaction is not None and not 1 <= data.satisfaction <= 5:
        raise BadUserInput("satisfaction must be a whole number from 1 to 5", field="satisfaction")
    at = data.occurred_at or utcnow()
    if at > utcnow() + CLOCK_SKEW:
        raise BadUserInput("occurredAt must not be in the future", field="occurredAt")
    return subject, at


async def log_interaction(
    *,
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    principal: Principal,
    data: NewInteraction,
) -> Interaction:
    interaction = await write_interaction(
        session=session, ring=ring, settings=settings, principal=principal, data=data
    )
    await session.commit()
    return interaction


async def write_interaction(
    *,
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    principal: Principal,
    data: NewInteraction,
) -> Interaction:
    """``log_interaction`` without the commit (the contact rules, the customer's scope, the
    sealed notes), for a caller that writes more in the same transaction (a completed task)."""
    if principal.role not in _LOGGING_ROLES:
        raise Forbidden("only service staff log interactions")
    subject, at = _checked_fields(data)
    customer = await session.scalar(
        select(Customer).where(col(Customer.id) == data.customer_id, customer_scope(principal))
    )
    if customer is None:
        raise NotFound("no customer with this id is visible to you", field="customerId")
    if (
        data.complaint_id is not None
        and await session.scalar(
            select(Complaint.id).where(
                col(Complaint.id) == data.complaint_id, col(Complaint.customer_id) == customer.id
            )
        )
        is None
    ):
        raise BadUserInput(
            "complaintId is not one of this customer's complaints", field="complaintId"
        )
    check_contact(
        customer,
        channel=data.channel,
        kind=data.kind,
        outbound=data.direction is Direction.OUTBOUND,
        at=at,
        timezone=settings.contact_timezone,
    )
    interaction = Interaction(
        customer_id=customer.id,
        channel=data.channel,
        direction=data.direction,
        kind=data.kind,
        subject=subject,
        outcome=data.outcome,
        satisfaction=data.satisfaction,
        staff_id=principal.staff_id,
        complaint_id=data.complaint_id,
        occurred_at=at,
    )
    await ensure_customer_keys(session, ring, [interaction.customer_id])
    seal_field(ring, interaction, "notes", checked_text("notes", data.notes, required=False))
    session.add(interaction)
    await session.flush()
    return interaction


@dataclass(frozen=True)
class InteractionFilter:
    customer_id: uuid.UUID | None = None
    channel: InteractionChannel | None = None
    kind: InteractionKind | None = None
    since: datetime | None = None
    until: datetime | None = None
    staff_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        require_offsets(since=self.since, until=self.until)


def interaction_conditions(filter: InteractionFilter) -> list[Any]:
    """The filter as SQL conditions (shared by the list and the per-customer loader)."""
    equal = {
        Interaction.customer_id: filter.customer_id,
        Interaction.channel: filter.channel,
        Interaction.kind: filter.kind,
        Interaction.staff_id: filter.staff_id,
    }
    conditions: list[Any] = [col(c) == v for c, v in equal.items() if v is not None]
    if filter.since is not None:
        conditions.append(col(Interaction.occurred_at) >= filter.since)
    if filter.until is not None:
        conditions.append(col(Interaction.occurred_at) < filter.until)
    return conditions


async def list_interactions(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    filter: InteractionFilter,
    page: PageArgs,
) -> tuple[Page[Interaction], Callable[[], Awaitable[int]]]:
    """Interactions of customers in the caller's scope, newest first."""
    visible = col(Interaction.customer_id).in_(select(Customer.id).where(customer_scope(principal)))
    conditions = [visible, *interaction_conditions(filter)]
    return await page_with_count(
        db,
        Interaction,
        conditions,
        sort_col=col(Interaction.occurred_at),
        id_col=col(Interaction.id),
        args=page.validated(settings.default_page_size, settings.max_page_size),
    )
