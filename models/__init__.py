"""The SQLModel tables of cardcrm, one folder per domain.

Importing this package registers every table on ``SQLModel.metadata`` (Alembic's
``env.py`` and the tests rely on that).
"""

from __future__ import annotations

from sqlmodel import SQLModel

from models.audit.audit import AuditCheckpoint, AuditEntry
from models.cards.card import Card
from models.cards.history import CardEvent
from models.cards.limits import CreditLimitChange, CreditLimitRequest
from models.cards.statement import Statement
from models.collections.case import CollectionCase, CollectionContact
from models.collections.reminder import RepaymentReminder
from models.customers.counts import CustomerCount
from models.customers.customer import Customer, LifecycleHistory
from models.customers.segment import SavedSegment
from models.events.outbox import OutboxEvent, WebhookDeadLetter, WebhookSubscription
from models.growth.customer_metrics import CustomerMetrics
from models.growth.offer import Offer, OfferAssignment
from models.growth.tier import Tier, TierHistory, TierTerms
from models.idempotency import IdempotencyRecord
from models.keys import CustomerKey, EncryptionKey
from models.loyalty.ledger import PointsEntry
from models.loyalty.reward import Reward, RewardRedemption
from models.merchants.merchant import Merchant, OAuthClient, RevokedToken
from models.organisation.organisation import Branch, RefreshToken, StaffUser
from models.outreach.campaign import Campaign, CampaignRecipient
from models.outreach.message import OutboundMessage
from models.outreach.survey import Survey
from models.privacy.consent import ConsentChange
from models.privacy.request import PrivacyRequest
from models.risk.alert import RiskAlert
from models.risk.grade import RiskGradeChange
from models.service_desk.complaint import Complaint, ComplaintEvent
from models.service_desk.interaction import Interaction
from models.tasks.task import StaffTask
from models.transactions.purchase_span import PurchaseSpan
from models.transactions.transaction import Transaction

metadata = SQLModel.metadata

__all__ = [
    "AuditCheckpoint",
    "AuditEntry",
    "Branch",
    "Campaign",
    "CampaignRecipient",
    "Card",
    "CardEvent",
    "CollectionCase",
    "CollectionContact",
    "Complaint",
    "ComplaintEvent",
    "ConsentChange",
    "CreditLimitChange",
    "CreditLimitRequest",
    "Customer",
    "CustomerCount",
    "CustomerKey",
    "CustomerMetrics",
    "EncryptionKey",
    "IdempotencyRecord",
    "Interaction",
    "LifecycleHistory",
    "Merchant",
    "OAuthClient",
    "Offer",
    "OfferAssignment",
    "OutboundMessage",
    "OutboxEvent",
    "PointsEntry",
    "PrivacyRequest",
    "PurchaseSpan",
    "RefreshToken",
    "RepaymentReminder",
    "RevokedToken",
    "Reward",
    "RewardRedemption",
    "RiskAlert",
    "RiskGradeChange",
    "SavedSegment",
    "StaffTask",
    "StaffUser",
    "Statement",
    "Survey",
    "Tier",
    "TierHistory",
    "TierTerms",
    "Transaction",
    "WebhookDeadLetter",
    "WebhookSubscription",
    "metadata",
]
