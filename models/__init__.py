"""The SQLModel tables of cardcrm, one module per domain.

Importing this package registers every table on ``SQLModel.metadata`` (Alembic's
``env.py`` and the tests rely on that).
"""

from __future__ import annotations

from sqlmodel import SQLModel

from models.audit import AuditCheckpoint, AuditEntry
from models.card import Card
from models.complaint import Complaint, ComplaintEvent
from models.customer import Customer, LifecycleHistory
from models.customer_metrics import CustomerMetrics
from models.idempotency import IdempotencyRecord
from models.interaction import Interaction
from models.keys import EncryptionKey
from models.merchant import Merchant, OAuthClient, RevokedToken
from models.offer import Offer, OfferAssignment
from models.organisation import Branch, RefreshToken, StaffUser
from models.tier import Tier, TierHistory
from models.transaction import Transaction

metadata = SQLModel.metadata

__all__ = [
    "AuditCheckpoint",
    "AuditEntry",
    "Branch",
    "Card",
    "Complaint",
    "ComplaintEvent",
    "Customer",
    "CustomerMetrics",
    "EncryptionKey",
    "IdempotencyRecord",
    "Interaction",
    "LifecycleHistory",
    "Merchant",
    "OAuthClient",
    "Offer",
    "OfferAssignment",
    "RefreshToken",
    "RevokedToken",
    "StaffUser",
    "Tier",
    "TierHistory",
    "Transaction",
    "metadata",
]
