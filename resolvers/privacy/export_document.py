"""The data export's document: everything cardcrm holds about one customer, in clear for them.

**What it holds.** One entry per table that holds rows about the customer (``SECTIONS``),
keyed by the table's name: the customer row itself (the profile, with every C2 field
opened, and its tier's code), and a list of rows for every other table. Every sealed table
of ``models.privacy.subjects.SUBJECTS`` is a section (a test holds the two lists together,
so a new sealed table cannot be forgotten), and so are the plain tables that are the
customer's history (consents, statements, transactions, points, tier and lifecycle history,
collection, tasks, campaigns).

**How a row reads.** Every column of the row, by its column name, except:

- a sealed column ``<field>_enc`` appears as ``<field>``, opened (``open_field_or_reload``);
- blind indexes (``*_bidx``) are keyed hashes for lookups, not data about the person;
- a card's PAN appears masked as the customer sees it in the app (BIN and last 4,
  ``pan_masked``): a clear PAN in a file is card data the bank must not hand out;
- a privacy request carries neither its document nor its link's token hash.

**Set-based.** One query per section, whatever the number of rows: rows linked through a
card or a complaint are selected with a subquery of the customer's cards or complaints.
Dates and instants are ISO 8601 (orjson), ids are strings.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from auth.masking import mask_pan
from core.encryption import KeyRing
from models.cards.card import Card
from models.cards.history import CardEvent
from models.cards.limits import CreditLimitChange, CreditLimitRequest
from models.cards.statement import Statement
from models.collections.case import CollectionCase, CollectionContact
from models.collections.reminder import RepaymentReminder
from models.customers.customer import Customer, LifecycleHistory
from models.growth.customer_metrics import CustomerMetrics
from models.growth.offer import OfferAssignment
from models.growth.tier import Tier, TierHistory
from models.loyalty.ledger import PointsEntry
from models.loyalty.reward import RewardRedemption
from models.outreach.campaign import CampaignRecipient
from models.outreach.message import OutboundMessage
from models.outreach.survey import Survey
from models.privacy.consent import ConsentChange
from models.privacy.request import PrivacyRequest
from models.risk.alert import RiskAlert
from models.risk.grade import RiskGradeChange
from models.sealing import open_field_or_reload
from models.service_desk.complaint import Complaint, ComplaintEvent
from models.service_desk.interaction import Interaction
from models.tasks.task import StaffTask
from models.transactions.transaction import Transaction

FORMAT = "cardcrm-data-export/1"
SEALED_SUFFIX, BLIND_INDEX_SUFFIX = "_enc", "_bidx"
# The columns a row is ordered by, the first the table has (then its id, if any).
ORDER_COLUMNS = ("created_at", "occurred_at", "changed_at", "requested_at", "cycle_end")


@dataclass(frozen=True)
class Section:
    """One table of the document: its model, how its rows name the customer, the fields
    left out (a sealed field by its name without ``_enc``)."""

    model: type[SQLModel]
    link: Callable[[type[SQLModel], uuid.UUID], ColumnElement[bool]]
    omit: frozenset[str] = field(default_factory=frozenset)

    @property
    def table(self) -> str:
        return str(self.model.__tablename__)


def _own(model: type[SQLModel], customer_id: uuid.UUID) -> ColumnElement[bool]:
    return col(getattr(model, "customer_id")) == customer_id  # noqa: B009 - any model


def _of_cards(model: type[SQLModel], customer_id: uuid.UUID) -> ColumnElement[bool]:
    cards = select(Card.id).where(col(Card.customer_id) == customer_id)
    return col(getattr(model, "card_id")).in_(cards)  # noqa: B009


def _of_complaints(model: type[SQLModel], customer_id: uuid.UUID) -> ColumnElement[bool]:
    complaints = select(Complaint.id).where(col(Complaint.customer_id) == customer_id)
    return col(getattr(model, "complaint_id")).in_(complaints)  # noqa: B009


def _self(model: type[SQLModel], customer_id: uuid.UUID) -> ColumnElement[bool]:
    return col(Customer.id) == customer_id


SECTIONS: tuple[Section, ...] = (
    Section(Customer, _self),
    Section(ConsentChange, _own),
    Section(Card, _own, omit=frozenset({"pan"})),
    Section(CardEvent, _of_cards),
    Section(CreditLimitRequest, _own),
    Section(CreditLimitChange, _of_cards),
    Section(Statement, _of_cards),
    Section(Transaction, _of_cards),
    Section(PointsEntry, _own),
    Section(RewardRedemption, _own),
    Section(OfferAssignment, _own),
    Section(Interaction, _own),
    Section(Complaint, _own),
    Section(ComplaintEvent, _of_complaints),
    Section(Survey, _own),
    Section(OutboundMessage, _own),
    Section(CampaignRecipient, _own),
    Section(RiskAlert, _own),
    Section(RiskGradeChange, _own),
    Section(TierHistory, _own),
    Section(LifecycleHistory, _own),
    Section(CustomerMetrics, _own),
    Section(CollectionCase, _own),
    Section(CollectionContact, _own),
    Section(RepaymentReminder, _own),
    Section(StaffTask, _own),
    Section(PrivacyRequest, _own, omit=frozenset({"document", "token_hash"})),
)


async def build_document(
    session: AsyncSession, ring: KeyRing, customer_id: uuid.UUID, *, now: datetime
) -> dict[str, Any]:
    """The export of ``customer_id`` as a JSON-ready dict (``document_json`` encodes it)."""
    tables: dict[str, Any] = {}
    for section in SECTIONS:
        rows = (await session.scalars(_query(section, customer_id))).all()
        tables[section.table] = [await _row(ring, section, row) for row in rows]
    (profile,) = tables[Customer.__tablename__] or [None]
    if profile is not None:
        profile["tier"] = await session.scalar(
            select(Tier.code).where(col(Tier.id) == profile["tier_id"])
        )
    tables[Customer.__tablename__] = profile
    return {"format": FORMAT, "customer_id": customer_id, "exported_at": now, "tables": tables}


def document_json(document: dict[str, Any]) -> str:
    return orjson.dumps(document, default=_plain, option=orjson.OPT_NON_STR_KEYS).decode()


def _plain(value: object) -> str:
    """What orjson does not encode itself: asyncpg's UUID (a subclass orjson refuses) and
    decimals, as their text."""
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _query(section: Section, customer_id: uuid.UUID) -> Select[Any]:
    model = section.model
    columns = inspect(model).columns
    order = [columns[name] for name in ORDER_COLUMNS if name in columns][:1]
    if "id" in columns:
        order.append(columns["id"])
    return select(model).where(section.link(model, customer_id)).order_by(*order)


async def _row(ring: KeyRing, section: Section, row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in inspect(section.model).columns:
        name = column.key
        if name.endswith(BLIND_INDEX_SUFFIX):
            continue
        if name.endswith(SEALED_SUFFIX):
            sealed_field = name.removesuffix(SEALED_SUFFIX)
            if sealed_field not in section.omit:
                out[sealed_field] = await open_field_or_reload(ring, row, sealed_field)
            continue
        if name not in section.omit:
            out[name] = getattr(row, name)
    if isinstance(row, Card):
        pan = await open_field_or_reload(ring, row, "pan")
        out["pan_masked"] = mask_pan(pan) if pan else f"{row.bin}******{row.last4}"
    return out
