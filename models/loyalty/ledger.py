"""The points ledger (积分): every change to a customer's points is a row; nothing holds a
balance. A balance is the sum of a customer's rows.

Kinds and their sign: ``earn`` (+, from a booked purchase), ``reverse`` (−, from a refund),
``expire`` (−, by the expiry batch), ``redeem`` (−, a reward redemption), ``adjust`` (±, a
correction). ``natural_key`` names what caused the row (``earn:<transaction id>``,
``reverse:<refund id>``, ``expire:<customer>:<as-of date>``, ``redeem:<redemption id>``), so
a re-import, a re-run of the expiry or a retried redemption posts nothing twice
(``INSERT … ON CONFLICT (natural_key) DO NOTHING``).

``occurred_at`` is when the entry took effect: the purchase's time for an earn, the refund's
for a reverse, the cut-off for an expiry, the redemption's time for a redeem. Only earn
(and positive adjust) rows carry ``expires_at``: the instant their points stop being valid.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, id_field, timestamp_field


class PointsKind(StrEnum):
    EARN = "earn"
    REVERSE = "reverse"
    EXPIRE = "expire"
    REDEEM = "redeem"
    ADJUST = "adjust"


class PointsEntry(SQLModel, table=True):
    __tablename__ = "points_entries"
    __table_args__ = (
        # A customer's history newest first, and their balance (a sum over the same rows).
        Index("ix_points_entries_customer_order", "customer_id", "occurred_at", "id"),
        # What a refund may reverse: the card's earn and reverse rows.
        Index("ix_points_entries_card", "card_id"),
        # analytics.growth: entries posted in a range, by kind.
        Index("ix_points_entries_kind_time", "kind", "occurred_at"),
    )

    id: uuid.UUID = id_field()
    customer_id: uuid.UUID = Field(foreign_key="customers.id")
    card_id: uuid.UUID | None = Field(default=None, foreign_key="cards.id")
    kind: str = code_field(16, default=PointsKind.EARN)
    points: int = Field(sa_type=BigInteger)
    transaction_id: uuid.UUID | None = Field(default=None, foreign_key="transactions.id")
    redemption_id: uuid.UUID | None = Field(default=None, foreign_key="reward_redemptions.id")
    occurred_at: datetime = timestamp_field(nullable=False)
    expires_at: datetime | None = timestamp_field()
    natural_key: str = Field(max_length=160, unique=True)
    created_at: datetime = created_at_field()
