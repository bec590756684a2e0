"""The descriptions of the campaign enums, joined into ``schema.enums``' one table."""

from __future__ import annotations

from enum import Enum

from models.outreach.campaign import CampaignGoal, CampaignStatus
from resolvers.outreach.campaign_terms import CampaignChannel

OUTREACH_ENUMS: dict[type[Enum], tuple[str, dict[str, str]]] = {
    CampaignStatus: (
        "Where a campaign stands.",
        {
            "DRAFT": "Being prepared: it changes freely and launches only when told to.",
            "SCHEDULED": "Launches itself at scheduledAt (`cardcrm campaigns run`).",
            "LAUNCHED": "Sent to its audience once; it no longer changes.",
            "CANCELLED": "Called off before launch.",
        },
    ),
    CampaignGoal: (
        "What a campaign is for, measured over its goal window after launch.",
        {
            "OFFER_ACCEPTANCE": "The campaign's offer accepted.",
            "CARD_ACTIVATION": "A card of the customer's activated.",
            "SPEND": "Purchases summing to at least goalSpendCents.",
            "REACTIVATION": "Any purchase (for dormant audiences).",
        },
    ),
    CampaignChannel: (
        "How a campaign reaches its customers; each needs their consent for it.",
        {
            "SMS": "A text message (consent to SMS).",
            "EMAIL": "An e-mail (consent to e-mail).",
            "PHONE": "A call (consent to phone).",
            "APP": "A push notification in the app (consent to push).",
        },
    ),
}
