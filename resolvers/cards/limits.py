"""Credit-limit change requests, maker–checker (issue 14).

The cardholder (for their own card) or branch staff (agent, supervisor, admin; for a card of
their scope) request a new limit, permanent or temporary until a date, with a reason (C2,
sealed); a card has at most one PENDING request. A risk officer (scope ``risk:write``) who is
not the requester approves or rejects it with a reason: the requester never decides their
own request, whatever their role now (FORBIDDEN, and the refusal is audited). Approving sets
the card's limit and writes its history row in the same transaction. The requester may cancel
while it is pending. Every action checks the request's ``version`` (CONFLICT if stale), moves
it through ``LIMIT_REQUEST_WORKFLOW`` with ``WHERE version = …`` and is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
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
from models.cards.limits import CreditLimitRequest, LimitChangeKind, LimitRequestStatus
from models.columns import utcnow
from models.customer_keys import ensure_customer_keys
from models.sealing import seal_field
from resolvers.cards.limit_changes import active_temporary, change_row, set_limit, visible_card
from resolvers.cards.limit_queries import REQUEST_NOT_FOUND, request_scope
from resolvers.cards.limit_workflow import LIMIT_REQUEST_WORKFLOW, LimitRequestAction

REQUEST_ACTION = "card.limit_request"
DECIDE_ACTION = "card.limit_decide"
REFUSED_ACTION = "card.limit_decide_refused"
CANCEL_ACTION = "card.limit_cancel"
REQUESTER_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT, Role.CUSTOMER})
MAKER_CHECKER = (
    "maker–checker: a credit-limit request is decided by a risk officer other than its "
    "requester, never by the requester"
)


def today() -> date:
    return utcnow().astimezone(UTC).date()


@dataclass(frozen=True)
class NewLimitRequest:
    card_id: uuid.UUID
    new_limit_cents: int
    reason: str
    temporary_until: date | None = None


def _checked_until(settings: Settings, until: date | None) -> date | None:
    if until is None:
        return None
    first, last = (
        today() + timedelta(days=1),
        today() + timedelta(days=settings.credit_limit_temporary_max_days),
    )
    if not first <= until <= last:
        raise BadUserInput(
            f"temporaryUntil must be a date from {first} to {last} "
            f"(at most {settings.credit_limit_temporary_max_days} days ahead)",
            field="temporaryUntil",
        )
    return until


async def request_limit_change(
    *,
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    principal: Principal,
    data: NewLimitRequest,
    audit_event: Callable[..., AuditEvent],
) -> CreditLimitRequest:
    if principal.role not in REQUESTER_ROLES:
        raise Forbidden("only the cardholder or branch staff (agent, supervisor) request a limit")
    reason = checked_text("reason", data.reason, required=True)
    until = _checked_until(settings, data.temporary_until)
    card, branch_id = await visible_card(session, principal, data.card_id)
    current = card.credit_limit_cents
    if data.new_limit_cents == current:
        raise BadUserInput(f"newLimit is the current limit, {yuan_text(current)}", field="newLimit")
    if until is not None and data.new_limit_cents < current:
        raise BadUserInput("a temporary limit must be above the current one", field="newLimit")
    pending = await session.scalar(
        select(CreditLimitRequest.id).where(
            col(CreditLimitRequest.card_id) == card.id,
            col(CreditLimitRequest.status) == LimitRequestStatus.PENDING,
        )
    )
    if pending is not None:
        raise Conflict(_ONE_PENDING, field="cardId")
    request = CreditLimitRequest(
        card_id=card.id,
        customer_id=card.customer_id,
        branch_id=branch_id,
        requester_kind=principal.kind.value,
        requester_id=principal.subject,
        current_limit_cents=current,
        requested_limit_cents=data.new_limit_cents,
        temporary_until=until,
    )
    await ensure_customer_keys(session, ring, [request.customer_id])
    seal_field(ring, request, "reason", reason)
    session.add(request)
    try:
        await session.flush()
    except IntegrityError as error:  # a concurrent request won the partial unique index
        await session.rollback()
        raise Conflict(_ONE_PENDING, field="cardId") from error
    await audit.record_and_commit(session, _event(audit_event, REQUEST_ACTION, request))
    return await _fresh(session, request.id)


_ONE_PENDING = "the card already has a pending credit-limit request: decide or cancel it first"


def _event(
    audit_event: Callable[..., AuditEvent],
    action: str,
    request: CreditLimitRequest,
    **details: Any,
) -> AuditEvent:
    return audit_event(
        action,
        target_type="CreditLimitRequest",
        target_id=str(request.id),
        fields=["creditLimit"],
        details={
            "cardId": str(request.card_id),
            "requested": yuan_text(request.requested_limit_cents),
            "temporaryUntil": str(request.temporary_until) if request.temporary_until else None,
            **details,
        },
    )


async def _fresh(session: AsyncSession, request_id: uuid.UUID) -> CreditLimitRequest:
    fresh = await session.get(CreditLimitRequest, request_id, populate_existing=True)
    assert fresh is not None
    return fresh


def is_requester(principal: Principal, request: CreditLimitRequest) -> bool:
    return (principal.kind.value, principal.subject) == (
        request.requester_kind,
        request.requester_id,
    )


@dataclass(frozen=True)
class LimitDecision:
    request_id: uuid.UUID
    action: LimitRequestAction
    version: int
    reason: str | None = None


async def _in_scope(
    session: AsyncSession, principal: Principal, decision: LimitDecision
) -> CreditLimitRequest:
    request = await session.scalar(
        select(CreditLimitRequest).where(
            col(CreditLimitRequest.id) == decision.request_id, request_scope(principal)
        )
    )
    if request is None:
        raise NotFound(REQUEST_NOT_FOUND, field="requestId")
    return request


async def _check_actor(
    session: AsyncSession,
    principal: Principal,
    request: CreditLimitRequest,
    decision: LimitDecision,
    audit_event: Callable[..., AuditEvent],
) -> None:
    if decision.action is LimitRequestAction.CANCEL:
        if not is_requester(principal, request):
            raise Forbidden("only the requester cancels a credit-limit request")
        return
    if not principal.is_staff:
        raise Forbidden("only risk officers decide credit-limit requests")
    if is_requester(principal, request):
        # Audited before refusing: an attempt to approve one's own request is a finding.
        await audit.record_and_commit(
            session, _event(audit_event, REFUSED_ACTION, request, rule="maker-checker")
        )
        raise Forbidden(MAKER_CHECKER, field="requestId")


async def _apply_approval(
    session: AsyncSession, principal: Principal, request: CreditLimitRequest
) -> int | None:
    """Sets the card's limit; returns the limit a temporary one reverts to."""
    if request.temporary_until is not None and request.temporary_until < today():
        raise Conflict("the request's temporary end date has passed; reject it", field="requestId")
    card, _ = await visible_card(session, principal, request.card_id)
    replaced = await active_temporary(session, card.id)
    base = card.credit_limit_cents
    if replaced is not None:  # a new decision replaces a temporary limit still in force
        base = replaced.revert_to_cents if replaced.revert_to_cents is not None else base
        replaced.ended_at = utcnow()
        replaced.version += 1
    change = change_row(
        card,
        request.requested_limit_cents,
        LimitChangeKind.REQUEST_APPROVED,
        principal,
        temporary_until=request.temporary_until,
        request_id=request.id,
    )
    await set_limit(session, card, request.requested_limit_cents)
    session.add(change)
    return base if request.temporary_until is not None else None


async def decide_limit_change(
    *,
    session: AsyncSession,
    ring: KeyRing,
    principal: Principal,
    decision: LimitDecision,
    audit_event: Callable[..., AuditEvent],
) -> CreditLimitRequest:
    """Approve, reject (a risk officer, never the requester) or cancel (the requester)."""
    request = await _in_scope(session, principal, decision)
    await _check_actor(session, principal, request, decision, audit_event)
    if request.version != decision.version:
        raise Conflict(
            f"the request is at version {request.version}, not {decision.version}; "
            "reload it and retry",
            field="version",
        )
    status = LIMIT_REQUEST_WORKFLOW.next_state(LimitRequestStatus(request.status), decision.action)
    cancelling = decision.action is LimitRequestAction.CANCEL
    reason = checked_text("reason", decision.reason, required=not cancelling)
    now = utcnow()
    values: dict[str, Any] = {"status": status, "version": request.version + 1, "updated_at": now}
    if not cancelling:
        await ensure_customer_keys(session, ring, [request.customer_id])
        seal_field(ring, request, "decision_reason", reason)
        values.update(
            decided_by=principal.subject,
            decided_at=now,
            decision_reason_enc=request.decision_reason_enc,
        )
    session.expunge(request)  # written below by one guarded UPDATE, not by the ORM's flush
    if decision.action is LimitRequestAction.APPROVE:
        values["revert_to_cents"] = await _apply_approval(session, principal, request)
    result = await session.execute(
        update(CreditLimitRequest)
        .where(
            col(CreditLimitRequest.id) == request.id,
            col(CreditLimitRequest.version) == decision.version,
        )
        .values(values),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Conflict("the request changed meanwhile; reload it and retry", field="version")
    action = CANCEL_ACTION if cancelling else DECIDE_ACTION
    await audit.record_and_commit(
        session, _event(audit_event, action, request, decision=decision.action.value)
    )
    return await _fresh(session, request.id)
