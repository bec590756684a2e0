"""The outbox's writing side: which changes become public events, and writing them in the
change's own transaction (issue 16, events out; the table is ``models.events.outbox``).

Every audited change passes ``auth.audit.append``, which asks ``events_of`` here for the
public events its audit action stands for (``CATALOGUE``, the one table of them) and adds
them to the same session: the change, its audit entry and its events commit together or not
at all, and no mutation can forget its event. The few changes that are not audited
(a complaint's workflow step, accepting or redeeming an offer) call ``emit`` before their
commit, and the risk rules insert theirs set-based (``resolvers.risk.rules``).

Payloads carry ids (Relay global ids), the event type, its schema version, the NAMES of the
changed fields and masked or coded values only: never a clear C2 value. A subscriber reads
the details through the API with its own scopes.

Order: on PostgreSQL every outbox insert takes the audit chain's transaction lock
(``auth.audit.OUTBOX_LOCK``, re-entrant for a transaction that already holds it), so ``seq``
values are committed in the order they are drawn and a delivery cursor never skips a row
committed late; SQLite has one writer at a time anyway.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from models.columns import new_id, utcnow
from models.events.outbox import OutboxEvent

SCHEMA_VERSION = 1
# The audit chain's advisory lock key (auth.audit): one lock, so no two orders can deadlock.
LOCK_KEY = 0x0CA2DC12


def global_id(type_name: str, raw_id: object) -> str:
    """The Relay global id the API answers for this object (schema.relay.to_global_id)."""
    return base64.b64encode(f"{type_name}:{raw_id}".encode()).decode()


@dataclass(frozen=True)
class Event:
    """A public event before it is a row."""

    type: str
    aggregate_type: str
    aggregate_id: str
    data: dict[str, Any]

    def values(self) -> dict[str, Any]:
        """The row's column values (``seq`` is drawn by the database)."""
        return {
            "event_id": new_id(),
            "type": self.type,
            "schema_version": SCHEMA_VERSION,
            "aggregate_type": self.aggregate_type,
            "aggregate_id": self.aggregate_id,
            "payload": {"id": global_id(self.aggregate_type, self.aggregate_id), **self.data},
            "occurred_at": utcnow(),
        }

    def row(self) -> OutboxEvent:
        return OutboxEvent(**self.values())


class AuditEvent(Protocol):
    """What the catalogue reads of an audit event (``auth.audit.AuditEvent``, which imports
    this module: a protocol keeps the two from importing each other)."""

    @property
    def actor_kind(self) -> str: ...
    @property
    def actor_id(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def target_id(self) -> str | None: ...
    @property
    def fields(self) -> list[str]: ...
    @property
    def details(self) -> dict[str, Any]: ...


Builder = Callable[[AuditEvent], list[Event]]


def _kept(details: dict[str, Any], *keys: str) -> dict[str, Any]:
    """Only the named detail values, which the catalogue vouches are codes or masked."""
    return {key: details[key] for key in keys if details.get(key) is not None}


CUSTOMER_CREATED = "customer.created"


def _customer_created(audit: AuditEvent) -> list[Event]:
    return [Event(CUSTOMER_CREATED, "Customer", str(audit.target_id), {})]


def _customer_updated(audit: AuditEvent) -> list[Event]:
    customer = str(audit.target_id)
    events = [Event("customer.updated", "Customer", customer, {"changedFields": audit.fields})]
    if "consent" in audit.fields:
        events.append(Event("customer.consent_changed", "Customer", customer, {}))
    return events


def _card_status(audit: AuditEvent) -> list[Event]:
    action = audit.action.removeprefix("card.")
    data = {"action": action, **_kept(audit.details, "from", "to", "version")}
    if "alert" in audit.details:  # a freeze decided on a risk alert
        data["riskAlertId"] = global_id("RiskAlert", audit.details["alert"])
    return [Event("card.status_changed", "Card", str(audit.target_id), data)]


def _card_issued(audit: AuditEvent) -> list[Event]:
    data = {}
    if "replaces" in audit.details:
        data["replacesCardId"] = global_id("Card", audit.details["replaces"])
    return [Event("card.issued", "Card", str(audit.target_id), data)]


def _card_limit(audit: AuditEvent) -> list[Event]:
    data = {"changedFields": ["creditLimit"], **_kept(audit.details, "from", "to")}
    return [Event("card.limit_changed", "Card", str(audit.target_id), data)]


def _limit_decided(audit: AuditEvent) -> list[Event]:
    if audit.details.get("decision") != "approve" or "cardId" not in audit.details:
        return []
    data = {
        "changedFields": ["creditLimit"],
        "creditLimitRequestId": global_id("CreditLimitRequest", audit.target_id),
        **_kept(audit.details, "requested", "temporaryUntil"),
    }
    return [Event("card.limit_changed", "Card", str(audit.details["cardId"]), data)]


def _reward_redeemed(audit: AuditEvent) -> list[Event]:
    data: dict[str, Any] = {"rewardId": global_id("Reward", audit.target_id)}
    data.update(_kept(audit.details, "pointsPrice"))
    if audit.actor_kind == "customer":
        return [Event("reward.redeemed", "Customer", audit.actor_id, data)]
    return [Event("reward.redeemed", "Reward", str(audit.target_id), data)]


def _alert(kind: str) -> Builder:
    def build(audit: AuditEvent) -> list[Event]:
        data = _kept(audit.details, "rule", "from", "to")
        return [Event(f"risk_alert.{kind}", "RiskAlert", str(audit.target_id), data)]

    return build


def _offer_status(audit: AuditEvent) -> list[Event]:
    data = {"action": audit.action.removeprefix("offer."), **_kept(audit.details, "from", "to")}
    return [Event("offer.status_changed", "Offer", str(audit.target_id), data)]


def _customer_erased(audit: AuditEvent) -> list[Event]:
    return [Event("customer.erased", "Customer", str(audit.target_id), {})]


def _tier_changed(audit: AuditEvent) -> list[Event]:
    return [Event("customer.tier_changed", "Customer", str(audit.target_id), {})]


# Audit action → the public events it stands for. docs/API.md "Events" lists them.
CATALOGUE: dict[str, Builder] = {
    "customer.create": _customer_created,
    "customer.update": _customer_updated,
    "customer.tier_override": _tier_changed,
    # Erasure (issue 16): the id only; the customer now reads back as a tombstone.
    "customer.erased": _customer_erased,
    **{
        f"card.{action}": _card_status
        for action in ("activate", "freeze", "unfreeze", "report_lost", "report_stolen", "close")
    },
    "card.issue": _card_issued,
    "card.limit_decrease": _card_limit,
    "card.limit_decide": _limit_decided,
    "rewards.redeem": _reward_redeemed,
    "risk_alert.resolve": _alert("resolved"),
    "risk_alert.answer": _alert("answered"),
    **{
        f"offer.{action}": _offer_status
        for action in ("create", "update", "activate", "pause", "expire")
    },
}

# The events written outside the audit append, by the code that makes the change.
EMITTED = (
    "complaint.filed",
    "complaint.status_changed",
    "offer.accepted",
    "offer.redeemed",
    "risk_alert.raised",
)


def event_types() -> list[str]:
    """Every public event type (what a subscription may ask for)."""
    sample: set[str] = set(EMITTED)
    sample.update(
        {
            CUSTOMER_CREATED,
            "customer.updated",
            "customer.consent_changed",
            "customer.tier_changed",
            "customer.erased",
            "card.status_changed",
            "card.issued",
            "card.limit_changed",
            "reward.redeemed",
            "risk_alert.resolved",
            "risk_alert.answered",
            "offer.status_changed",
        }
    )
    return sorted(sample)


def events_of(audit: AuditEvent) -> list[Event]:
    """The public events an audited change stands for (none for most audit actions)."""
    build = CATALOGUE.get(audit.action)
    return build(audit) if build is not None and audit.target_id is not None else []


async def lock(session: AsyncSession) -> None:
    """Holds the outbox order until commit (PostgreSQL; see the module docstring)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


async def write(session: AsyncSession, events: Iterable[Event]) -> None:
    """Adds the events to the session's transaction; the caller's commit publishes them."""
    rows = [event.row() for event in events]
    if rows:
        await lock(session)
        session.add_all(rows)


async def write_bulk(session: AsyncSession, events: Sequence[Event]) -> None:
    """``write`` for a set-based change's many events: one INSERT however many (an import's
    chunk), executed at once in the caller's transaction."""
    if events:
        await lock(session)
        await session.execute(insert(OutboxEvent), [event.values() for event in events])


async def emit(
    session: AsyncSession,
    type: str,
    aggregate_type: str,
    aggregate_id: uuid.UUID | str,
    **data: Any,
) -> None:
    """One event of a change that is not audited; call it before the change's commit."""
    await write(session, [Event(type, aggregate_type, str(aggregate_id), data)])
