"""Complaints: filing and the workflow's actions (SPEC §3); reading them in scope is
``resolvers.service_desk.complaint_queries``.

Every mutation field declares ``complaints:write`` (``schema.scope_field``), checked before
any of this runs, so a caller without the scope gets no answer at all, not even NOT_FOUND.
Every action loads the complaint through ``complaint_scope`` (outside it: NOT_FOUND), checks
the caller holds the current ``version`` (else CONFLICT, nothing written), asks the workflow
table for the next status, writes the change with ``WHERE version = …`` so a concurrent
writer cannot be overwritten, appends one timeline entry, commits, and then publishes an
event for live subscribers. Resolving also creates the complaint's satisfaction survey and
its invitation in the same transaction (``resolvers.outreach.surveys``, a declared port).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import outbox
from core import text_limits
from core.broker import Broker
from core.encryption import KeyRing
from core.errors import BadUserInput, Conflict, Forbidden, NotFound
from core.identity import Principal, Role
from core.settings import Settings
from core.text_limits import checked_text
from models.cards.card import Card
from models.columns import utcnow
from models.customer_keys import ensure_customer_keys
from models.customers.customer import Customer
from models.growth.tier import Tier
from models.organisation.organisation import StaffUser
from models.sealing import seal_field
from models.service_desk.complaint import (
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintSeverity,
    ComplaintStatus,
)
from resolvers.outreach.surveys import survey_after_resolution
from resolvers.scoping import complaint_scope, customer_scope
from resolvers.service_desk.complaint_channels import publish
from resolvers.service_desk.complaint_queries import NOT_FOUND_MESSAGE
from resolvers.service_desk.complaint_workflow import COMPLAINT_WORKFLOW, ComplaintAction
from resolvers.service_desk.sla import due_at

logger = logging.getLogger("cardcrm.complaints")
MAX_CHANNEL = text_limits.CHANNEL  # stored in clear, in a VARCHAR(16)
_SEVERITY_RANK = {s: i for i, s in enumerate(ComplaintSeverity)}
_HANDLER_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT})


@dataclass(frozen=True)
class NewComplaint:
    description: str
    category: ComplaintCategory = ComplaintCategory.OTHER
    channel: str = "app"
    severity: ComplaintSeverity | None = None
    customer_id: uuid.UUID | None = None
    card_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ComplaintChange:
    complaint_id: uuid.UUID
    version: int
    action: ComplaintAction
    note: str | None = None
    assignee_id: uuid.UUID | None = None
    severity: ComplaintSeverity | None = None
    to_supervisor: bool = False
    resolution: str | None = None
    score: int | None = None


async def _service_level_hours(session: AsyncSession, customer_id: uuid.UUID) -> int:
    """The customer's tier's service level, which caps every complaint deadline."""
    hours = await session.scalar(
        select(Tier.service_level_hours)
        .join(Customer, col(Customer.tier_id) == col(Tier.id))
        .where(col(Customer.id) == customer_id)
    )
    assert hours is not None, "every customer has a tier"
    return hours


async def _complainant(session: AsyncSession, principal: Principal, data: NewComplaint) -> Customer:
    if principal.customer_id is not None:
        if data.customer_id not in (None, principal.customer_id):
            raise NotFound("no customer with this id is visible to you", field="customerId")
        customer_id = principal.customer_id
    elif principal.role in _HANDLER_ROLES:
        if data.customer_id is None:
            raise BadUserInput(
                "customerId is required when staff file a complaint", field="customerId"
            )
        customer_id = data.customer_id
    else:
        raise Forbidden("only the customer or service staff may file a complaint")
    customer = await session.scalar(
        select(Customer).where(col(Customer.id) == customer_id, customer_scope(principal))
    )
    if customer is None:
        raise NotFound("no customer with this id is visible to you", field="customerId")
    return customer


def _event(
    ring: KeyRing,
    complaint: Complaint,
    principal: Principal,
    action: ComplaintAction,
    from_status: str | None,
    note: str | None,
) -> ComplaintEvent:
    event = ComplaintEvent(
        complaint_id=complaint.id,
        action=action.value,
        actor_kind=principal.kind.value,
        actor_id=principal.subject,
        from_status=from_status,
        to_status=complaint.status,
    )
    seal_field(ring, event, "note", note, customer_id=complaint.customer_id)
    return event


async def file_complaint(
    *,
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    broker: Broker,
    principal: Principal,
    data: NewComplaint,
) -> Complaint:
    customer = await _complainant(session, principal, data)
    description = checked_text("description", data.description, required=True)
    channel = checked_text("channel", data.channel, required=True, limit=MAX_CHANNEL)
    if (
        data.card_id is not None
        and await session.scalar(
            select(Card.id).where(
                col(Card.id) == data.card_id, col(Card.customer_id) == customer.id
            )
        )
        is None
    ):
        raise BadUserInput("cardId is not one of this customer's cards", field="cardId")
    # Customers describe; staff triage, so only staff set a severity.
    severity = (data.severity if principal.is_staff else None) or ComplaintSeverity.MEDIUM
    now = utcnow()
    complaint = Complaint(
        customer_id=customer.id,
        card_id=data.card_id,
        branch_id=customer.branch_id,
        category=data.category,
        channel=channel,
        severity=severity,
        status=ComplaintStatus.OPEN,
        created_at=now,
        updated_at=now,
        due_at=due_at(settings, now, severity, await _service_level_hours(session, customer.id)),
    )
    await ensure_customer_keys(session, ring, [complaint.customer_id])
    seal_field(ring, complaint, "description", description)
    session.add(complaint)
    await session.flush()
    session.add(_event(ring, complaint, principal, ComplaintAction.FILE, None, None))
    await outbox.emit(
        session,
        "complaint.filed",
        "Complaint",
        complaint.id,
        customerId=outbox.global_id("Customer", customer.id),
        status=complaint.status,
        category=complaint.category,
        severity=complaint.severity,
    )
    await session.commit()
    await publish(broker, complaint, ComplaintAction.FILE, principal, notify=None)
    return complaint


def _authorize(principal: Principal, complaint: Complaint, action: ComplaintAction) -> None:
    if action is ComplaintAction.RATE:
        if principal.customer_id != complaint.customer_id:
            raise Forbidden("only the complainant rates a complaint")
        return
    if principal.customer_id is not None:
        if action is not ComplaintAction.REOPEN:
            raise Forbidden(f"customers may not {action.value.replace('_', ' ')} a complaint")
        return
    if principal.role not in _HANDLER_ROLES:
        raise Forbidden("only service staff handle complaints")
    if action is ComplaintAction.ASSIGN and principal.role is Role.AGENT:
        raise Forbidden("only supervisors assign complaints")


async def _branch_staff(
    session: AsyncSession, complaint: Complaint, staff_id: uuid.UUID | None, roles: frozenset[Role]
) -> StaffUser | None:
    query = select(StaffUser).where(
        col(StaffUser.branch_id) == complaint.branch_id,
        col(StaffUser.is_active).is_(True),
        col(StaffUser.role).in_([r.value for r in roles]),
    )
    if staff_id is not None:
        query = query.where(col(StaffUser.id) == staff_id)
    return (await session.scalars(query.order_by(col(StaffUser.username)).limit(1))).first()


async def _action_values(
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    principal: Principal,
    complaint: Complaint,
    change: ComplaintChange,
) -> tuple[dict[str, Any], str | None]:
    """The columns an action sets, and the note its timeline entry keeps."""
    now, action = utcnow(), change.action
    note = checked_text("note", change.note, required=False)
    if action is ComplaintAction.ACKNOWLEDGE:
        return {"acknowledged_at": now}, note
    if action is ComplaintAction.ASSIGN:
        assignee = await _branch_staff(
            session, complaint, change.assignee_id, frozenset({Role.AGENT, Role.SUPERVISOR})
        )
        if change.assignee_id is None or assignee is None:
            raise BadUserInput(
                "assigneeId must be an agent or supervisor of the complaint's branch",
                field="assigneeId",
            )
        return {"assignee_id": assignee.id}, note
    if action is ComplaintAction.START_WORK:
        return ({"assignee_id": principal.staff_id} if complaint.assignee_id is None else {}), note
    if action is ComplaintAction.ESCALATE:
        return await _escalation(session, settings, complaint, change), note
    if action is ComplaintAction.RESOLVE:
        resolution = checked_text("resolution", change.resolution, required=True)
        seal_field(ring, complaint, "resolution", resolution)
        return {"resolution_enc": complaint.resolution_enc, "resolved_at": now}, note
    if action is ComplaintAction.CLOSE:
        return {"closed_at": now}, note
    if action is ComplaintAction.REOPEN:
        reason = checked_text("note", change.note, required=True)
        return {
            "reopen_count": complaint.reopen_count + 1,
            "resolved_at": None,
            "closed_at": None,
        }, reason
    return _rating(complaint, change.score), note


async def _escalation(
    session: AsyncSession, settings: Settings, complaint: Complaint, change: ComplaintChange
) -> dict[str, Any]:
    if change.severity is None and not change.to_supervisor:
        raise BadUserInput(
            "escalate to a higher severity, to a supervisor, or both", field="severity"
        )
    values: dict[str, Any] = {"escalation_level": complaint.escalation_level + 1}
    if change.severity is not None:
        current = ComplaintSeverity(complaint.severity)
        if _SEVERITY_RANK[change.severity] <= _SEVERITY_RANK[current]:
            raise BadUserInput(f"severity must be higher than {current.value}", field="severity")
        values["severity"] = change.severity
        values["due_at"] = due_at(
            settings,
            complaint.created_at,
            change.severity,
            await _service_level_hours(session, complaint.customer_id),
        )
    if change.to_supervisor:
        supervisor = await _branch_staff(session, complaint, None, frozenset({Role.SUPERVISOR}))
        if supervisor is None:
            raise BadUserInput(
                "the complaint's branch has no active supervisor", field="toSupervisor"
            )
        values["assignee_id"] = supervisor.id
    return values


def _rating(complaint: Complaint, score: int | None) -> dict[str, Any]:
    if complaint.satisfaction is not None:
        raise Conflict("this complaint has already been rated", field="score")
    if score is None or not 1 <= score <= 5:
        raise BadUserInput("score must be a whole number from 1 to 5", field="score")
    return {"satisfaction": score}


async def change_complaint(
    *,
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    broker: Broker,
    principal: Principal,
    change: ComplaintChange,
) -> Complaint:
    complaint = await session.scalar(
        select(Complaint).where(
            col(Complaint.id) == change.complaint_id, complaint_scope(principal)
        )
    )
    if complaint is None:
        raise NotFound(NOT_FOUND_MESSAGE, field="id")
    _authorize(principal, complaint, change.action)
    if complaint.version != change.version:
        raise Conflict(
            f"the complaint is at version {complaint.version}, not {change.version}; "
            "reload it and retry",
            field="version",
        )
    from_status = complaint.status
    status = COMPLAINT_WORKFLOW.next_state(ComplaintStatus(from_status), change.action)
    await ensure_customer_keys(session, ring, [complaint.customer_id])  # notes are theirs
    values, note = await _action_values(session, ring, settings, principal, complaint, change)
    previous_assignee = complaint.assignee_id
    values.update(status=status, version=complaint.version + 1, updated_at=utcnow())
    session.expunge(complaint)
    result = await session.execute(
        update(Complaint)
        .where(col(Complaint.id) == complaint.id, col(Complaint.version) == change.version)
        .values(values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Conflict("the complaint changed meanwhile; reload and retry", field="version")
    fresh = await session.get(Complaint, complaint.id, populate_existing=True)
    assert fresh is not None
    session.add(_event(ring, fresh, principal, change.action, from_status, note))
    if change.action is ComplaintAction.RESOLVE:  # its survey lands with it, or neither does
        await survey_after_resolution(
            session=session,
            ring=ring,
            settings=settings,
            complaint=fresh,
            resolved_by=principal.staff_id,
        )
    await outbox.emit(
        session,
        "complaint.status_changed",
        "Complaint",
        fresh.id,
        customerId=outbox.global_id("Customer", fresh.customer_id),
        action=change.action.value,
        **{"from": from_status, "to": fresh.status, "version": fresh.version},
    )
    await session.commit()
    notify = fresh.assignee_id if change.action in _NOTIFY_ASSIGNEE else None
    if change.action is ComplaintAction.ASSIGN and fresh.assignee_id == previous_assignee:
        notify = None
    await publish(broker, fresh, change.action, principal, notify=notify)
    return fresh


_NOTIFY_ASSIGNEE = frozenset({ComplaintAction.ASSIGN, ComplaintAction.ESCALATE})
