"""Exact-match lookups as what they are: disclosures (issue 11 item 1).

A lookup by a phone number, a national ID or a card number tells the caller, hit or miss,
whether that value belongs to a customer. With a masked value in view (138****5678) that is a
guessing oracle, so every lookup is audited (actor, field, reason code, hit or miss; never
the value) and counted against the caller's hourly budget. The budget is counted in the
audit log itself, under the audit chain's lock, as the reveal limit is: it holds across
instances with no second store and cannot be raced. Who may look up what is declared in
``auth.lookups.LOOKUPS`` and checked by the lookup fields' extension; one lookup field per
request is checked before anything runs (``api.admission.lookup_limit``). A refused attempt is
audited too, so the log shows every try, and is not counted (it disclosed nothing).

The hourly budget alone cannot protect a value with few candidates: a masked national ID
plus the birth year and district leaves about 33. But every guess at one masked value shares
that masked form, while a person serving a customer rarely misses twice on one: so misses are
also counted per masked form (recorded in the entry, which shows no more than the caller's
role is shown) over a day, and after ``lookup_misses_per_masked_value`` of them the next
lookup with that masked form is refused. A guesser gets that many tries plus one per value
a day, and leaves them all in the log.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from auth.lookups import LookupRule
from core.errors import NotFound, RateLimited
from core.identity import Principal
from core.settings import Settings
from models.audit.audit import AuditEntry
from models.columns import utcnow
from models.customers.customer import Customer
from resolvers.scoping import customer_scope

LOOKUP_ACTION = "customer.lookup"
# createCustomer's entry: its national ID was tested and found unregistered, a miss (its
# masked form is in the entry, so guesses made by creating customers are capped too).
CREATE_ACTION = "customer.create"
REFUSED_ACTION = "customer.lookup.refused"
NOT_FOUND_MESSAGE = "no customer with this value is visible to you"


class LookupReason(StrEnum):
    """Why the caller looks a customer up: a code, never free text (no PII can ride along)."""

    INBOUND_CALL = "inbound_call"
    BRANCH_VISIT = "branch_visit"
    CORRESPONDENCE = "correspondence"
    COMPLAINT = "complaint"
    FRAUD_CHECK = "fraud_check"
    # createCustomer's duplicate check (its "already exists" conflicts).
    NEW_CUSTOMER = "new_customer"


class Outcome(StrEnum):
    HIT = "hit"
    MISS = "miss"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    GUESSING = "guessing"  # refused: too many misses on one masked value


@dataclass(frozen=True)
class Guess:
    """One lookup: by which rule, the looked-up value's masked form, and why."""

    rule: LookupRule
    masked: str | None
    reason: LookupReason


def lookup_event(
    audit_event: Callable[..., AuditEvent],
    rule: LookupRule,
    reason: LookupReason,
    outcome: Outcome,
    customer_id: uuid.UUID | None = None,
    details: dict[str, str] | None = None,
) -> AuditEvent:
    """The audit entry of one lookup: who (filled in by ``audit_event``), which field, why,
    and what came of it. Never the value looked up."""
    counted = outcome in (Outcome.HIT, Outcome.MISS)
    return audit_event(
        LOOKUP_ACTION if counted else REFUSED_ACTION,
        target_type="Customer" if customer_id else None,
        target_id=str(customer_id) if customer_id else None,
        fields=[rule.field],
        details={"reason": reason.value, "outcome": outcome.value, **(details or {})},
    )


async def lookups_in_last_hour(session: AsyncSession, principal: Principal) -> int:
    since = utcnow() - timedelta(hours=1)
    count = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            col(AuditEntry.actor_id) == principal.subject,
            col(AuditEntry.action) == LOOKUP_ACTION,
            col(AuditEntry.created_at) >= since,
        )
    )
    return int(count or 0)


def _over_budget(settings: Settings) -> RateLimited:
    return RateLimited(
        f"you may look customers up at most {settings.lookup_limit_per_hour} times an hour",
        retry_after_seconds=3600,
    )


async def check_budget(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    guess: Guess,
    audit_event: Callable[..., AuditEvent],
) -> None:
    """RATE_LIMITED, audited, when the caller's hourly lookups are used up or it has missed
    too often on this masked value: ``createCustomer``'s check before it tests a national ID
    or card number for duplicates (inside ``chain_lock``; a refusal is committed)."""
    refusal = await _refusal(session, settings, principal, guess)
    if refusal is not None:
        outcome, error = refusal
        masked = {"masked": guess.masked} if guess.masked else None
        event = lookup_event(audit_event, guess.rule, guess.reason, outcome, None, masked)
        await audit.append(session, event)
        await session.commit()
        raise error


async def refuse(
    session: AsyncSession,
    audit_event: Callable[..., AuditEvent],
    rule: LookupRule,
    reason: LookupReason,
) -> None:
    """Audits an attempt the caller's role or scopes do not allow (nothing is looked up)."""
    await audit.record_and_commit(
        session, lookup_event(audit_event, rule, reason, Outcome.FORBIDDEN)
    )


def _is_miss_on(entry: AuditEntry, guess: Guess) -> bool:
    if entry.details.get("masked") != guess.masked:
        return False
    if entry.action == CREATE_ACTION:
        return guess.rule.field == "idNumber"
    return entry.fields == [guess.rule.field] and entry.details.get("outcome") == Outcome.MISS


async def _misses_on(session: AsyncSession, principal: Principal, guess: Guess) -> int:
    """The caller's misses on this field and masked form in the last day, a customer created
    with a national ID of that masked form included (at most a day's lookups and creates are
    read: the filter on the JSON detail runs here, on any database)."""
    since = utcnow() - timedelta(days=1)
    rows = await session.scalars(
        select(AuditEntry).where(
            col(AuditEntry.actor_id) == principal.subject,
            col(AuditEntry.action).in_((LOOKUP_ACTION, CREATE_ACTION)),
            col(AuditEntry.created_at) >= since,
        )
    )
    return sum(1 for entry in rows if _is_miss_on(entry, guess))


async def _refusal(
    session: AsyncSession, settings: Settings, principal: Principal, guess: Guess
) -> tuple[Outcome, RateLimited] | None:
    """Why this lookup may not run now, if it may not: the budget, or too many guesses."""
    if await lookups_in_last_hour(session, principal) >= settings.lookup_limit_per_hour:
        return Outcome.RATE_LIMITED, _over_budget(settings)
    cap = settings.lookup_misses_per_masked_value
    if guess.masked is not None and await _misses_on(session, principal, guess) >= cap:
        message = (
            f"{cap} lookups by a {guess.rule.field} shown as {guess.masked} found nobody "
            "today: no more lookups by it until tomorrow (this looks like guessing)"
        )
        return Outcome.GUESSING, RateLimited(message, retry_after_seconds=86400)
    return None


Finder = Callable[[AsyncSession], Awaitable[list[Customer]]]


async def look_up_customers(
    *,
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    guess: Guess,
    find: Finder,
    audit_event: Callable[..., AuditEvent],
) -> list[Customer]:
    """The customers ``find`` returns (it must keep to the caller's scope), after the
    budget and guess checks, with the lookup audited as a hit (any) or a miss (none)."""
    masked = {"masked": guess.masked} if guess.masked else None
    async with audit.chain_lock(session):
        await check_budget(session, settings, principal, guess, audit_event)
        customers = await find(session)
        outcome = Outcome.HIT if customers else Outcome.MISS
        customer_id = customers[0].id if len(customers) == 1 else None
        event = lookup_event(audit_event, guess.rule, guess.reason, outcome, customer_id, masked)
        await audit.append(session, event)
        await session.commit()
    return customers


async def look_up_customer(
    *,
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    guess: Guess,
    condition: Any,
    audit_event: Callable[..., AuditEvent],
) -> Customer:
    """The customer in the caller's scope matching ``condition`` (a blind-index test), or
    NOT_FOUND; a customer outside the caller's scope is a miss, like no customer at all."""

    async def find(session: AsyncSession) -> list[Customer]:
        query = select(Customer).where(condition, customer_scope(principal)).limit(1)
        return list((await session.scalars(query)).all())

    found = await look_up_customers(
        session=session,
        settings=settings,
        principal=principal,
        guess=guess,
        find=find,
        audit_event=audit_event,
    )
    if not found:
        raise NotFound(NOT_FOUND_MESSAGE)
    return found[0]


def conflict_event(
    audit_event: Callable[..., AuditEvent], rule: LookupRule, customer_id: uuid.UUID | None
) -> AuditEvent:
    """``createCustomer``'s "already exists" as the lookup hit it is."""
    return lookup_event(audit_event, rule, LookupReason.NEW_CUSTOMER, Outcome.HIT, customer_id)


async def record_conflict(
    session: AsyncSession,
    audit_event: Callable[..., AuditEvent],
    rule: LookupRule,
    customer_id: uuid.UUID | None,
) -> None:
    """Audits and counts a conflict found by the insert itself (a duplicate written by
    another process since ``createCustomer`` tested for it)."""
    await audit.record_and_commit(session, conflict_event(audit_event, rule, customer_id))
