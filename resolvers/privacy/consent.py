"""The customer's own consent in the app: ``myConsents`` reads it with its history,
``updateMyConsent`` changes it (PIPL: a consent given must be as easy to withdraw).

A change is checked by the rules of ``updateCustomer``'s consent input (``Consent.checked``)
before anything is written, versioned like ``updateCustomer`` (a stale ``expectedVersion``
is a CONFLICT and nothing is overwritten), recorded in the history with source ``app`` and
the customer as actor (``resolvers.privacy.consent_history``), and audited as a
``customer.update`` of the ``consent`` field, so the outbox writes ``customer.consent_changed``
(``auth.outbox``) in the same transaction. A change that changes nothing writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, and_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core.errors import Conflict, Forbidden, NotFound
from core.identity import Principal
from core.request_database import RequestDatabase
from models.columns import utcnow
from models.customers.customer import Customer
from models.privacy.consent import ConsentSource
from resolvers.customers.input import Consent
from resolvers.privacy.consent_history import (
    CHANNELS,
    consent_changes,
    granted_of,
    record_consent_changes,
)

CUSTOMERS_ONLY = "updateMyConsent and myConsents are the customer's own, in the app"


@dataclass(frozen=True)
class ConsentUpdate:
    """What the customer asks to change: only the channels and texts given change; a text
    given as None clears it (no do-not-disturb window, no preferred channel)."""

    channels: Mapping[str, bool] = field(default_factory=dict)  # sms, email, push, phone
    # do_not_disturb_start, do_not_disturb_end, preferred_channel
    texts: Mapping[str, str | None] = field(default_factory=dict)
    expected_version: int | None = None

    def applied_to(self, row: Customer) -> Consent:
        """The customer's whole consent after this change, checked like ``updateCustomer``'s."""
        given: dict[str, Any] = {**self.channels, **self.texts}
        return replace(_consent_of(row), **given).checked()


def _own_id(principal: Principal) -> uuid.UUID:
    if principal.customer_id is None:
        raise Forbidden(CUSTOMERS_ONLY)
    return principal.customer_id


def _consent_of(row: Customer) -> Consent:
    return Consent(
        **granted_of(row),
        do_not_disturb_start=row.do_not_disturb_start,
        do_not_disturb_end=row.do_not_disturb_end,
        preferred_channel=row.preferred_channel,
    )


def _live(customer_id: uuid.UUID) -> ColumnElement[bool]:
    """The customer's own row, unless erased (a tombstone has no consent to change)."""
    return and_(col(Customer.id) == customer_id, col(Customer.erased_at).is_(None))


async def my_consents(*, db: RequestDatabase, principal: Principal) -> Customer:
    """The caller's own customer row, for their consent (its history and since when each
    channel holds come from ``resolvers.privacy.consent_history``'s loaders)."""
    row = await db.scalar(select(Customer).where(_live(_own_id(principal))))
    if row is None:
        raise NotFound("no such customer")
    customer: Customer = row
    return customer


async def update_my_consent(
    *,
    session: AsyncSession,
    principal: Principal,
    change: ConsentUpdate,
    audit_event: Callable[..., AuditEvent],
) -> Customer:
    """Applies the customer's change to their own row (see the module docstring); answers
    the row as it is afterwards."""
    customer_id = _own_id(principal)
    row = await session.scalar(select(Customer).where(_live(customer_id)))
    if row is None:
        raise NotFound("no such customer")
    version = row.version
    if change.expected_version is not None and change.expected_version != version:
        raise Conflict(
            f"your consent is at version {version}, not {change.expected_version}; reload it "
            "and retry",
            field="expectedVersion",
        )
    wanted = change.applied_to(row)  # BAD_USER_INPUT before anything is written
    if wanted == _consent_of(row):
        return row
    history = consent_changes(
        row.id,
        granted_of(row),
        granted_of(_as_columns(wanted)),
        source=ConsentSource.APP,
        actor_id=principal.subject,
    )
    values = {**_as_columns(wanted), "version": version + 1, "updated_at": utcnow()}
    session.expunge(row)
    result = await session.execute(
        update(Customer).where(_live(customer_id), col(Customer.version) == version).values(values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Conflict(
            "your consent changed meanwhile (another device?); reload it and retry",
            field="expectedVersion",
        )
    await record_consent_changes(session, history)
    event = audit_event(
        "customer.update",
        target_type="Customer",
        target_id=str(row.id),
        fields=["consent"],
        details={"source": ConsentSource.APP.value, "channels": _granted_now(history)},
    )
    await audit.record_and_commit(session, event)
    fresh = await session.get(Customer, row.id, populate_existing=True)
    assert fresh is not None
    return fresh


def _granted_now(history: list[dict[str, Any]]) -> dict[str, bool]:
    """The channels changed and their new value (C1: kept in the audit entry)."""
    return {change["channel"]: change["granted"] for change in history}


def _as_columns(consent: Consent) -> dict[str, object]:
    return {
        **{f"consent_{channel}": getattr(consent, channel) for channel in CHANNELS},
        "do_not_disturb_start": consent.do_not_disturb_start,
        "do_not_disturb_end": consent.do_not_disturb_end,
        "preferred_channel": consent.preferred_channel,
    }
