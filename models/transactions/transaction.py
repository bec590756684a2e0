"""Card transactions, ingested in bulk; ``natural_key`` makes a re-import a no-op."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, id_field, timestamp_field


class MerchantCategory(StrEnum):
    DINING = "dining"
    TRAVEL = "travel"
    SHOPPING = "shopping"
    ELECTRONICS = "electronics"
    GROCERY = "grocery"
    ENTERTAINMENT = "entertainment"
    FUEL = "fuel"
    OTHER = "other"


class TransactionKind(StrEnum):
    """What a transaction does to the balance; amounts are always positive."""

    PURCHASE = "purchase"  # spending: the only kind evaluation, offers and analytics count
    REPAYMENT = "repayment"  # the customer paying the card back
    REFUND = "refund"  # a merchant giving a purchase back


class Transaction(SQLModel, table=True):
    __tablename__ = "transactions"
    __table_args__ = (Index("ix_transactions_card_time", "card_id", "occurred_at"),)

    id: uuid.UUID = id_field()
    card_id: uuid.UUID = Field(foreign_key="cards.id")
    amount_cents: int
    currency: str = Field(default="CNY", max_length=3)
    merchant_name: str = Field(max_length=200)
    merchant_category: str = code_field(32, default=MerchantCategory.OTHER)
    channel: str = code_field(16, default="pos")
    occurred_at: datetime = timestamp_field(nullable=False)
    kind: str = Field(
        default=TransactionKind.PURCHASE,
        max_length=16,
        sa_column_kwargs={"server_default": "purchase"},
    )
    natural_key: str = Field(max_length=128, unique=True)
    created_at: datetime = created_at_field()
