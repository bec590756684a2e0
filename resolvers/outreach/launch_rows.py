"""The rows a launch writes (resolvers/outreach/launch.py decides them): the recipients in
chunks, then each MESSAGED recipient's survey and queued message set-based, one INSERT …
SELECT each."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, insert, literal, null, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.settings import Settings
from models.customers.customer import Customer
from models.outreach.campaign import Campaign, CampaignRecipient, RecipientOutcome
from models.outreach.message import MessageStatus, OutboundMessage
from models.outreach.survey import Survey

# A do-not-disturb window (start, end) that holds a message now, and when it ends.
Windows = dict[tuple[str, str], datetime]


def _chunks(rows: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


UNNEST_RECIPIENTS = text(
    "INSERT INTO campaign_recipients (id, campaign_id, customer_id, outcome, created_at) "
    "SELECT r.id, CAST(:campaign AS uuid), r.customer, r.outcome, CAST(:now AS timestamptz) "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:customers AS uuid[]), "
    "CAST(:outcomes AS varchar[])) AS r(id, customer, outcome)"
)


async def insert_recipients(
    session: AsyncSession, recipients: list[dict[str, Any]], chunk_rows: int
) -> None:
    """The recipient rows, in chunks: on PostgreSQL one INSERT … SELECT FROM unnest(arrays)
    per chunk (a multi-row VALUES of 100,000 rows costs seconds in binding alone); on SQLite,
    in process, an executemany."""
    if session.get_bind().dialect.name != "postgresql":
        table = CampaignRecipient.__table__  # type: ignore[attr-defined]
        for chunk in _chunks(recipients, chunk_rows):
            await session.execute(insert(table), chunk)
        return
    for chunk in _chunks(recipients, chunk_rows * 10):
        await session.execute(
            UNNEST_RECIPIENTS,
            {
                "campaign": chunk[0]["campaign_id"],
                "now": chunk[0]["created_at"],
                "ids": [row["id"] for row in chunk],
                "customers": [row["customer_id"] for row in chunk],
                "outcomes": [row["outcome"] for row in chunk],
            },
        )


def _value(column: Any, value: Any) -> Any:
    """``value`` as a bound literal of ``column``'s type (for INSERT … SELECT)."""
    attribute: Any = col(column)
    column_type = attribute.expression.type
    return literal(value, type_=column_type)


def _send_after(windows: Windows, now: datetime) -> Any:
    """The end of the customer's do-not-disturb window when now falls inside it, else now."""
    at = col(OutboundMessage.send_after)
    if not windows:
        return _value(at, now)
    held = [
        (
            and_(
                col(Customer.do_not_disturb_start) == start,
                col(Customer.do_not_disturb_end) == end,
            ),
            _value(at, until),
        )
        for (start, end), until in windows.items()
    ]
    return case(*held, else_=_value(at, now))


async def write_messages(
    session: AsyncSession, campaign: Campaign, settings: Settings, now: datetime, windows: Windows
) -> None:
    """A survey (with ``withSurvey``) and a queued message per MESSAGED recipient, set-based:
    both take the recipient's id as their own (one of each per recipient), so the message
    names its survey without a lookup."""
    recipient = col(CampaignRecipient.id)
    messaged = [
        col(CampaignRecipient.campaign_id) == campaign.id,
        col(CampaignRecipient.outcome) == RecipientOutcome.MESSAGED.value,
    ]
    joined = col(Customer.id) == col(CampaignRecipient.customer_id)
    if campaign.with_survey:
        expires = now + timedelta(days=settings.survey_valid_days)
        surveys = select(
            recipient,
            col(CampaignRecipient.customer_id),
            col(Customer.branch_id),
            _value(Survey.campaign_id, campaign.id),
            _value(Survey.question, settings.survey_question),
            _value(Survey.expires_at, expires),
            _value(Survey.created_at, now),
        )
        columns = ["id", "customer_id", "branch_id", "campaign_id", "question"]
        await session.execute(
            insert(Survey).from_select(
                [*columns, "expires_at", "created_at"],
                surveys.join(Customer, joined).where(*messaged),
            )
        )
    survey = recipient if campaign.with_survey else null()
    messages = select(
        recipient,
        col(CampaignRecipient.customer_id),
        _value(OutboundMessage.campaign_id, campaign.id),
        survey,
        _value(OutboundMessage.channel, campaign.channel),
        _value(OutboundMessage.status, MessageStatus.QUEUED.value),
        _send_after(windows, now),
        _value(OutboundMessage.attempts, 0),
        _value(OutboundMessage.created_at, now),
    )
    columns = ["id", "customer_id", "campaign_id", "survey_id", "channel", "status"]
    await session.execute(
        insert(OutboundMessage).from_select(
            [*columns, "send_after", "attempts", "created_at"],
            messages.join(Customer, joined).where(*messaged),
        )
    )
