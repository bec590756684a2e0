"""The GraphQL descriptions of the enums, kept next to each other in one table.

Most enums the API exposes are plain Python enums of lower layers (``models``, ``auth``,
``core.errors``, ``resolvers``), which must not import strawberry; strawberry converts them
when it builds the schema. ``describe_enums`` registers each one here with its description and
one per value, so the SDL and introspection say what every value means. An enum that a schema
module already declared with ``strawberry.enum`` keeps the descriptions it gave itself; this
table only fills in what is missing. ``schema/__init__.py`` calls it before building the
schema; a value's description is keyed by the member's name (its GraphQL name).
"""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types.enum import has_enum_definition

from auth.policy import PiiField
from core.errors import ErrorCode
from core.identity import Role
from models.cards.card import CardStatus
from models.cards.statement import OverdueBucket
from models.customers.customer import Gender, LifecycleStage, RiskGrade
from models.growth.offer import AssignmentStatus, BenefitType, OfferStatus
from models.growth.tier import TierChange, TierCode
from models.loyalty.ledger import PointsKind
from models.loyalty.reward import RewardStatus
from models.risk.grade import RiskGradeReason, RiskGradeSource
from models.service_desk.complaint import ComplaintCategory, ComplaintSeverity, ComplaintStatus
from models.service_desk.interaction import InteractionChannel, InteractionKind
from models.transactions.transaction import MerchantCategory, TransactionKind
from resolvers.cards.workflow import CARD_WORKFLOW, CardAction
from resolvers.customers.customer_order import CustomerOrderField
from resolvers.customers.disclosure import LookupReason
from resolvers.growth.offer_workflow import OFFER_WORKFLOW, OfferAction
from resolvers.pagination import SortDirection
from resolvers.service_desk.complaint_workflow import COMPLAINT_WORKFLOW, ComplaintAction
from resolvers.service_desk.interactions import Direction
from resolvers.transactions.rows import TransactionChannel
from schema.error_codes import ERROR_CODES
from schema.outreach.campaign_enums import OUTREACH_ENUMS

# The moves as the workflow tables declare them ("DRAFT or PAUSED → ACTIVE"), so these
# descriptions cannot drift from the rules.
_COMPLAINT, _OFFER = COMPLAINT_WORKFLOW.describe, OFFER_WORKFLOW.describe
_CARD = CARD_WORKFLOW.describe

ENUM_DESCRIPTIONS: dict[type[Enum], tuple[str, dict[str, str]]] = {
    ErrorCode: ERROR_CODES,
    AssignmentStatus: (
        "Where a customer's offer assignment stands: targeted → viewed → accepted → redeemed.",
        {
            "TARGETED": "Offered to the customer, not yet seen.",
            "VIEWED": "Seen by the customer, not yet accepted.",
            "ACCEPTED": "Accepted: the customer holds a one-time redemption code.",
            "REDEEMED": "The code was redeemed by the merchant; final.",
            "EXPIRED": "Not redeemed before the offer or the code ran out; final.",
        },
    ),
    BenefitType: (
        "What an offer gives; `benefitValue` is read in the unit of the type.",
        {
            "PERCENT_OFF": "A discount of a percentage of the amount (1–100).",
            "AMOUNT_OFF": "A fixed discount, in yuan.",
            "POINTS_MULTIPLIER": "The usual reward points times a factor (2–10).",
            "CASHBACK": "An amount paid back after the purchase, in yuan.",
        },
    ),
    CardStatus: (
        "Where a card stands in its life.",
        {
            "ISSUED": "Issued, not yet activated.",
            "ACTIVATED": "Active: activated and in use; the only status whose transactions "
            "are booked.",
            "FROZEN": "Frozen for now by the customer or the bank; unfreezing makes it active.",
            "CLOSED": "Closed for good.",
            "BLOCKED": "Reported lost or stolen, for good; `replacedBy` is its new card.",
        },
    ),
    CardAction: (
        "A step of the card workflow, as recorded in a card's history.",
        {
            "ISSUE": "The card was issued (status ISSUED) to replace a lost or stolen one.",
            "ACTIVATE": f"{_CARD(CardAction.ACTIVATE)}: the customer received the card.",
            "FREEZE": f"{_CARD(CardAction.FREEZE)}: no transaction is booked until unfrozen.",
            "UNFREEZE": f"{_CARD(CardAction.UNFREEZE)}.",
            "REPORT_LOST": f"{_CARD(CardAction.REPORT_LOST)}: reported lost; a new card is issued.",
            "REPORT_STOLEN": f"{_CARD(CardAction.REPORT_STOLEN)}: reported stolen; a new card "
            "is issued.",
            "CLOSE": f"{_CARD(CardAction.CLOSE)}.",
        },
    ),
    OverdueBucket: (
        "How far behind a card's repayments are: days past due in 30-day steps.",
        {
            "CURRENT": "Every minimum payment made by its due date, or caught up since.",
            **{f"M{n}": f"{30 * n - 29} to {30 * n} days past due." for n in range(1, 7)},
            "M6_PLUS": "More than 180 days past due.",
        },
    ),
    ComplaintAction: (
        "A step of the complaint workflow, as recorded in a complaint's timeline.",
        {
            "FILE": "The complaint was filed (status OPEN).",
            "ACKNOWLEDGE": f"{_COMPLAINT(ComplaintAction.ACKNOWLEDGE)}: the bank has taken note.",
            "ASSIGN": "Handed to a staff member; the status stays.",
            "START_WORK": f"{_COMPLAINT(ComplaintAction.START_WORK)}.",
            "ESCALATE": "Raised to a higher severity and/or a supervisor; the status stays.",
            "RESOLVE": f"{_COMPLAINT(ComplaintAction.RESOLVE)}, with a resolution.",
            "CLOSE": f"{_COMPLAINT(ComplaintAction.CLOSE)}.",
            "REOPEN": f"{_COMPLAINT(ComplaintAction.REOPEN)} again.",
            "RATE": "The complainant rated a resolved or closed complaint; the status stays.",
        },
    ),
    ComplaintCategory: (
        "What a complaint is about.",
        {
            "BILLING_DISPUTE": "A disputed charge or statement.",
            "FEES": "Fees charged.",
            "SERVICE_ATTITUDE": "How staff treated the customer.",
            "FRAUD": "Suspected fraud or unauthorised use.",
            "REWARDS": "Reward points and benefits.",
            "COLLECTION": "Debt collection.",
            "OTHER": "Anything else.",
        },
    ),
    ComplaintSeverity: (
        "How serious a complaint is; sets its SLA due time (capped by the customer's tier).",
        {
            "LOW": "Low: the longest SLA (15 days by default).",
            "MEDIUM": "Medium (7 days by default).",
            "HIGH": "High (72 hours by default).",
            "CRITICAL": "Critical: the shortest SLA (24 hours by default).",
        },
    ),
    ComplaintStatus: (
        "Where a complaint stands: OPEN → ACKNOWLEDGED → IN_PROGRESS → RESOLVED → CLOSED.",
        {
            "OPEN": "Filed, not yet acknowledged.",
            "ACKNOWLEDGED": "Acknowledged, work not yet started.",
            "IN_PROGRESS": "Being worked on (also after a reopen).",
            "RESOLVED": "A resolution was given; can be closed or reopened.",
            "CLOSED": "Done; can still be reopened.",
        },
    ),
    CustomerOrderField: (
        "The field customers are sorted by.",
        {
            "CREATED_AT": "When the customer record was created.",
            "CHURN_SCORE": "The last evaluation's churn score (never evaluated: 0).",
            "SPEND": "Spend over the evaluation window (never evaluated: 0).",
            "LAST_TRANSACTION": "The last transaction (DESC: most recent first; never: last).",
        },
    ),
    Direction: (
        "Who started an interaction.",
        {
            "INBOUND": "The customer contacted the bank.",
            "OUTBOUND": "The bank contacted the customer (marketing needs consent and no DND).",
        },
    ),
    Gender: (
        "A customer's gender, as they gave it.",
        {
            "MALE": "Male.",
            "FEMALE": "Female.",
            "UNDISCLOSED": "Not given (the default).",
        },
    ),
    InteractionChannel: (
        "How an interaction took place.",
        {
            "PHONE": "A phone call.",
            "SMS": "A text message.",
            "EMAIL": "An e-mail.",
            "WECHAT": "A WeChat message.",
            "APP": "The mobile app (in-app message or push).",
            "BRANCH": "At a branch.",
            "VISIT": "A visit to the customer.",
        },
    ),
    InteractionKind: (
        "What an interaction was for.",
        {
            "FOLLOW_UP": "A follow-up call or message (回访).",
            "CARE": "Customer care (关怀).",
            "MARKETING": "Marketing; outbound needs the customer's consent for the channel.",
            "SERVICE": "Service to the customer's request.",
            "COLLECTION_REMINDER": "A reminder of an overdue payment.",
            "COLLECTION": "A collector's contact on an overdue card (logCollectionContact).",
            "SATISFACTION_SURVEY": "A satisfaction survey (counts in satisfaction analytics).",
        },
    ),
    LifecycleStage: (
        "A customer's lifecycle stage, computed from their transactions by each evaluation.",
        {
            "PROSPECT": "Never transacted, and joined too long ago to count as new.",
            "NEW": "Joined recently.",
            "ACTIVE": "Transacts recently enough and shows no churn risk.",
            "LOYAL": "Transacts often, recently, and has been a customer for long.",
            "DORMANT": "No transaction for the dormant period (沉睡).",
            "AT_RISK": "Churn risk score at or over the at-risk threshold (流失预警).",
            "CHURNED": "No transaction for the churned period.",
        },
    ),
    LookupReason: (
        "Why the caller looks a customer up; recorded in the audit log (a code, never text).",
        {
            "INBOUND_CALL": "The customer is on the phone.",
            "BRANCH_VISIT": "The customer is at a branch.",
            "CORRESPONDENCE": "A letter or e-mail from the customer.",
            "COMPLAINT": "Handling a complaint.",
            "FRAUD_CHECK": "Checking for fraud.",
            "NEW_CUSTOMER": "Checking for a duplicate before creating a customer.",
        },
    ),
    MerchantCategory: (
        "A merchant's business category, used for spend segments and offer eligibility.",
        {
            "DINING": "Restaurants and cafés.",
            "TRAVEL": "Travel: airlines, hotels, agencies.",
            "SHOPPING": "Retail shopping.",
            "ELECTRONICS": "Electronics.",
            "GROCERY": "Groceries and supermarkets.",
            "ENTERTAINMENT": "Entertainment.",
            "FUEL": "Fuel stations.",
            "OTHER": "Anything else.",
        },
    ),
    TransactionKind: (
        "What a transaction does to the card's balance; amounts are always positive.",
        {
            "PURCHASE": "Spending: the only kind evaluation, offers and analytics count.",
            "REPAYMENT": "The customer paying the card back.",
            "REFUND": "A merchant giving a purchase back.",
        },
    ),
    TransactionChannel: (
        "Where a card was used.",
        {
            "POS": "Card present at a merchant's terminal (chip, swipe, contactless).",
            "ONLINE": "E-commerce, card not present.",
            "MOBILE": "In an app, by QR code or a phone wallet.",
            "ATM": "A cash withdrawal.",
        },
    ),
    OfferAction: (
        "A change of an offer's status.",
        {
            "ACTIVATE": f"{_OFFER(OfferAction.ACTIVATE)}.",
            "PAUSE": f"{_OFFER(OfferAction.PAUSE)}.",
            "EXPIRE": f"{_OFFER(OfferAction.EXPIRE)}, for good.",
        },
    ),
    OfferStatus: (
        "Where an offer stands; an offer past its end time reads EXPIRED.",
        {
            "DRAFT": "Being prepared; not live for customers.",
            "ACTIVE": "Live: customers can act on it inside its validity window.",
            "PAUSED": "Stopped for now; can be activated again.",
            "EXPIRED": "Over (expired or past its end); nothing about it changes any more.",
        },
    ),
    PiiField: (
        "A customer value that `revealCustomerPii` can return in clear (audited).",
        {
            "NAME": "The customer's full name.",
            "PHONE": "The phone number.",
            "EMAIL": "The e-mail address.",
            "ID_NUMBER": "The national ID number.",
            "ADDRESS": "The postal address.",
            "BIRTH_DATE": "The date of birth.",
            "CUSTOMER_NUMBER": "The bank's own customer number.",
            "PAN": "The full card numbers of the customer's cards.",
        },
    ),
    RiskGrade: (
        "A customer's credit risk grade, A (lowest risk) to E (highest).",
        {
            "A": "Lowest risk.",
            "B": "Low risk.",
            "C": "Medium risk (a new customer's grade).",
            "D": "High risk.",
            "E": "Highest risk.",
        },
    ),
    RiskGradeReason: (
        "Why evaluation gave a risk grade: each warning sign counted, or none.",
        {
            "HIGH_UTILISATION": "The booked balance is high against the open cards' limits.",
            "OVERDUE_NOW": "A card is past due now (more points the longer).",
            "OVERDUE_HISTORY": "Statements not paid by their due date in the last year.",
            "LOW_REPAYMENT_RATIO": "Little of the recent statements' balances was repaid.",
            "SPENDING_SPIKE": "Recent spend is several times that of the period before.",
            "CASH_LIKE_SPENDING": "Much of the spend is in cash-like categories (OTHER).",
            "CLEAN_RECORD": "No warning sign: the lowest risk.",
            "NO_HISTORY": "No statement yet: a new customer's grade (C) at best.",
        },
    ),
    RiskGradeSource: (
        "What changed a customer's risk grade.",
        {
            "EVALUATION": "An evaluation, from the customer's behaviour.",
            "OVERRIDE": "A risk officer, by hand, with a reason; held until lifted.",
            "OVERRIDE_LIFTED": "A risk officer ended an override: back to the computed grade.",
        },
    ),
    Role: (
        "Who a caller is: a staff role, or a customer, a merchant or a service account.",
        {
            "ADMIN": "Staff: users, clients, keys, everything.",
            "SUPERVISOR": "Staff: a branch's customers, complaint escalation, revealing PII.",
            "AGENT": "Staff: a branch's customers (masked), interactions, assigned complaints.",
            "MARKETER": "Staff: offers, targeting and aggregate analytics; never PII in clear.",
            "RISK_OFFICER": "Staff: credit limits and risk grades; contact data masked.",
            "AUDITOR": "Staff: reads everything masked and the audit log; never reveals.",
            "CUSTOMER": "A cardholder, seeing only themself.",
            "MERCHANT": "A partner merchant, seeing and redeeming only its own offers.",
            "SERVICE": "A batch job's OAuth client, e.g. the transaction feed.",
        },
    ),
    SortDirection: (
        "The order of a sorted list.",
        {"ASC": "Ascending: oldest first.", "DESC": "Descending: newest first."},
    ),
    TierChange: (
        "Why a customer's tier was recorded in their tier history.",
        {
            "EVALUATION": "An evaluation kept the tier (evaluations today record only moves).",
            "UPGRADE": "An evaluation moved the customer to a higher tier.",
            "DOWNGRADE": "An evaluation moved the customer to a lower tier.",
            "OVERRIDE": "Set by staff by hand, with a reason.",
        },
    ),
    TierCode: (
        "A card tier, lowest first.",
        {
            "STANDARD": "Standard, the lowest tier.",
            "SILVER": "Silver.",
            "GOLD": "Gold.",
            "PLATINUM": "Platinum.",
            "DIAMOND": "Diamond, the highest tier.",
        },
    ),
    PointsKind: (
        "What a points ledger entry did to the balance.",
        {
            "EARN": "Points earned by a purchase (positive); they expire later.",
            "REVERSE": "Points taken back by a refund (negative).",
            "EXPIRE": "Points whose validity ended unspent (negative).",
            "REDEEM": "Points spent on a reward (negative).",
            "ADJUST": "A correction by the bank (either sign).",
        },
    ),
    RewardStatus: (
        "Where a reward of the catalogue stands.",
        {
            "DRAFT": "Being prepared: customers do not see it.",
            "ACTIVE": "Offered: customers see it while in stock and valid.",
            "RETIRED": "Withdrawn for good: no longer redeemable.",
        },
    ),
    **OUTREACH_ENUMS,
}


def describe_enums() -> None:
    """Gives every enum of the table its descriptions; a value name not in its enum is a
    typo, refused at start-up. Descriptions a schema module already set are kept."""
    for enum, (description, values) in ENUM_DESCRIPTIONS.items():
        unknown = set(values) - set(enum.__members__)
        if unknown:
            raise ValueError(f"{enum.__name__} has no value {', '.join(sorted(unknown))}")
        if not has_enum_definition(enum):
            strawberry.enum(enum)
        assert has_enum_definition(enum)
        definition = enum.__strawberry_definition__
        definition.description = definition.description or description
        for value in definition.values:
            value.description = value.description or values.get(value.name)
