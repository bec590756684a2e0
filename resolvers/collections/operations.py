"""Working a collection case: assigning it, and logging a collection contact.

Both lock the case (PostgreSQL), take back the ``version`` the caller read (CONFLICT if it
changed), refuse a closed case (CONFLICT), bump the version and write one audit entry.

- ``assign_case``: a supervisor for their branch's cases, an admin any; the assignee must be
  an active staff member of the case's branch.
- ``log_contact``: an agent or supervisor of the case's branch; the collection contact rules
  first (resolvers/collections/contact_rules.py), then one Interaction of kind COLLECTION
  (its notes sealed) and one CollectionContact; ``last_contact_at`` moves. A PROMISE_TO_PAY
  needs a positive amount and a date not in the past (the bank's local day) and sets the case
  PROMISED with them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.encryption import KeyRing
from core.errors import BadUserInput, Conflict, Forbidden, NotFound
from core.identity import Principal, Role
from core.money import yuan_text
from core.settings import Settings
from core.text_limits import checked_text
from models.collections.case import (
    CollectionCase,
    CollectionContact,
    CollectionStatus,
    ContactOutcome,
)
from models.customer_keys import ensure_customer_keys
from models.organisation.organisation import StaffUser
from models.sealing import seal_field
from models.service_desk.interaction import Interaction, InteractionChannel, InteractionKind
from resolvers.collections.contact_rules import check_collection_contact
from resolvers.collections.queries import CASE_NOT_FOUND, case_scope

ASSIGN_ACTION = "collection.assign"
CONTACT_ACTION = "collection.contact"
_ASSIGNERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
_COLLECTORS = frozenset({Role.SUPERVISOR, Role.AGENT})


async def _case(
    session: AsyncSession, principal: Principal, case_id: uuid.UUID, version: int
) -> CollectionCase:
    case = await session.scalar(
        select(CollectionCase)
        .where(col(CollectionCase.id) == case_id, case_scope(principal))
        .with_for_update()
    )
    if case is None:
        raise NotFound(CASE_NOT_FOUND, field="caseId")
    if case.status == CollectionStatus.CLOSED:
        raise Conflict("the case is closed", field="caseId")
    if case.version != version:
        raise Conflict(
            f"the case changed since you read it (version {case.version}, not {version}); "
            "reload it",
            field="version",
        )
    return case


async def assign_case(
    *,
    session: AsyncSession,
    principal: Principal,
    case_id: uuid.UUID,
    assignee_id: uuid.UUID,
    version: int,
    audit_event: Callable[..., AuditEvent],
    now: datetime,
) -> CollectionCase:
    if principal.role not in _ASSIGNERS:
        raise Forbidden("only a supervisor (their branch) or an admin assigns collection cases")
    case = await _case(session, principal, case_id, version)
    assignee = await session.get(StaffUser, assignee_id)
    if assignee is None or not assignee.is_active or assignee.branch_id != case.branch_id:
        raise BadUserInput(
            "the assignee must be an active staff member of the case's branch",
            field="assigneeId",
        )
    previous = case.assignee_id
    case.assignee_id = assignee.id
    case.version += 1
    case.updated_at = now
    await audit.record_and_commit(
        session,
        audit_event(
            ASSIGN_ACTION,
            target_type="CollectionCase",
            target_id=str(case.id),
            fields=["assignee"],
            details={
                "from": str(previous) if previous else None,
                "to": str(assignee.id),
            },
        ),
    )
    return await _fresh(session, case.id)


async def _fresh(session: AsyncSession, case_id: uuid.UUID) -> CollectionCase:
    case = await session.get(CollectionCase, case_id, populate_existing=True)
    assert case is not None
    return case


@dataclass(frozen=True)
class NewContact:
    case_id: uuid.UUID
    version: int
    channel: InteractionChannel
    outcome: ContactOutcome
    notes: str | None = None
    promise_amount_cents: int | None = None
    promise_date: date | None = None


def _checked_promise(settings: Settings, data: NewContact, now: datetime) -> None:
    promised = data.promise_amount_cents is not None or data.promise_date is not None
    if data.outcome is not ContactOutcome.PROMISE_TO_PAY:
        if promised:
            raise BadUserInput(
                "promiseAmount and promiseDate go with the outcome PROMISE_TO_PAY only",
                field="promiseAmount",
            )
        return
    if data.promise_amount_cents is None or data.promise_amount_cents <= 0:
        raise BadUserInput("a promise to pay needs a positive promiseAmount", field="promiseAmount")
    today = now.astimezone(ZoneInfo(settings.contact_timezone)).date()
    if data.promise_date is None or data.promise_date < today:
        raise BadUserInput(
            f"a promise to pay needs a promiseDate from today ({today.isoformat()}) on",
            field="promiseDate",
        )


async def log_contact(
    *,
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    principal: Principal,
    data: NewContact,
    audit_event: Callable[..., AuditEvent],
    now: datetime,
) -> CollectionCase:
    if principal.role not in _COLLECTORS:
        raise Forbidden("only the branch's agents and supervisors log collection contacts")
    notes = checked_text("notes", data.notes, required=False)
    _checked_promise(settings, data, now)
    case = await _case(session, principal, data.case_id, data.version)
    await check_collection_contact(session, settings, case.customer_id, now)
    interaction = Interaction(
        customer_id=case.customer_id,
        channel=data.channel,
        direction="outbound",
        kind=InteractionKind.COLLECTION,
        subject=f"Collection contact: {data.outcome.value}",
        outcome=data.outcome.value,
        staff_id=principal.staff_id,
        occurred_at=now,
    )
    await ensure_customer_keys(session, ring, [interaction.customer_id])
    seal_field(ring, interaction, "notes", notes)
    session.add(interaction)
    await session.flush()
    session.add(
        CollectionContact(
            case_id=case.id,
            customer_id=case.customer_id,
            interaction_id=interaction.id,
            staff_id=principal.staff_id,
            outcome=data.outcome,
            promise_amount_cents=data.promise_amount_cents,
            promise_date=data.promise_date,
            occurred_at=now,
        )
    )
    details: dict[str, Any] = {"outcome": data.outcome.value, "channel": data.channel.value}
    if data.outcome is ContactOutcome.PROMISE_TO_PAY:
        assert data.promise_amount_cents is not None
        assert data.promise_date is not None
        case.status = CollectionStatus.PROMISED
        case.promise_amount_cents = data.promise_amount_cents
        case.promise_date = data.promise_date
        details |= {
            "promise_amount": yuan_text(data.promise_amount_cents),
            "promise_date": data.promise_date.isoformat(),
        }
    case.last_contact_at = now
    case.version += 1
    case.updated_at = now
    await audit.record_and_commit(
        session,
        audit_event(
            CONTACT_ACTION,
            target_type="CollectionCase",
            target_id=str(case.id),
            details=details,
        ),
    )
    return await _fresh(session, case.id)
