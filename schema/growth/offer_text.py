"""What the offer types, inputs and mutations say in the schema (``schema.growth.offer``,
``schema.growth.offer_operations``, ``schema.merchants.merchant``), kept apart so those modules stay
short.

The bounds quoted here are those of ``resolvers.growth.offer_input`` and ``core.text_limits``.
"""

from __future__ import annotations

BENEFIT_VALUE = (
    "Depends on benefitType: PERCENT_OFF a whole percent, 1–100 (20 = 20% off); "
    "AMOUNT_OFF and CASHBACK yuan, at most two decimals (20.50); "
    "POINTS_MULTIPLIER a whole factor, 2–10 (2 = double points)."
)

BUDGET = "Most benefit paid out over all redemptions, in yuan; null: no limit."
MIN_SPEND = (
    "In yuan: the smallest purchase a code is redeemed on, and the least spend over the "
    "evaluation window (in `spendCategories`, if any) a customer needs to be eligible."
)
TITLE = "The offer's headline, at most 200 characters."
DESCRIPTION = "The offer's fine print, at most 2000 characters; empty if none."
CATEGORY = "The merchant category the offer is in; spend there counts towards affinity."
BENEFIT_TYPE = "The kind of benefit; it sets the unit of `benefitValue`."
STARTS_AT = "When the offer opens, an ISO 8601 UTC instant."
ENDS_AT = "When the offer closes, an ISO 8601 UTC instant; from then on it is EXPIRED."
QUOTA = "Most assignments in total (customers it goes to); null: no limit."
ELIGIBLE_TIERS = "An eligible customer is in one of these tiers; empty: any tier."
ELIGIBLE_STAGES = "An eligible customer is in one of these lifecycle stages; empty: any stage."
ELIGIBLE_SEGMENTS = (
    "An eligible customer is in at least one of these segments (codes like big_ticket); "
    "empty: any customer."
)
SPEND_CATEGORIES = (
    "Categories whose window spend must reach `minSpend`; empty: `minSpend` applies to all "
    "spend. They and `category` measure a customer's affinity."
)

# Inputs.
UPDATE_INPUT = (
    "Only the fields given change (null clears quota or budget); `version` must be the "
    "current one. Money is in yuan; `benefitValue` needs `benefitType` alongside, since its "
    "unit depends on it."
)
MERCHANT_ID = "The partner merchant giving the offer (a Merchant global ID); it must exist."
INPUT_TITLE = "The headline, 1–200 characters; runs of white space become one space."
INPUT_DESCRIPTION = "The fine print, at most 2000 characters, trimmed."
INPUT_CATEGORY = "The merchant category the offer is in."
INPUT_STARTS_AT = "When the offer opens: an ISO 8601 instant with a UTC offset (…Z)."
INPUT_ENDS_AT = (
    "When it closes: an ISO 8601 instant with a UTC offset, after `startsAt`, in the future."
)
INPUT_QUOTA = "Most assignments in total, at least 1; null: no limit."
INPUT_SEGMENTS = (
    "At most 20 segment codes, lower-cased: a letter, then letters, digits or _, up to 32 "
    "characters; an eligible customer is in at least one. Empty: any customer."
)
INPUT_SPEND_CATEGORIES = (
    "At most 20 categories whose window spend must reach `minSpend`; empty: `minSpend` "
    "applies to all spend."
)
UNCHANGED = " Left out: unchanged."
USER_ERRORS = "Why nothing changed; empty on success."
VERSION = "The offer's current `version`; any other is a CONFLICT (reload and retry)."
WRITERS = "Marketers and admins; userErrors: FORBIDDEN, NOT_FOUND, "
STATUS_ERRORS = WRITERS + "CONFLICT (stale `version`, or not allowed from the current status)."
CUSTOMER_STEP = (
    "; doing it again changes nothing. The assignment's customer only; "
    "userErrors: FORBIDDEN, NOT_FOUND"
)

CREATE_OFFER = (
    "Creates an offer as a DRAFT. Marketers and admins; userErrors: FORBIDDEN, BAD_USER_INPUT."
)
UPDATE_OFFER = (
    "Changes an offer's terms (a real change bumps its `version`); an EXPIRED offer cannot. "
    + WRITERS
    + "CONFLICT (stale `version`, or expired), BAD_USER_INPUT."
)
ACTIVATE_OFFER = "DRAFT or PAUSED → ACTIVE: customers may accept it inside its window. " + (
    STATUS_ERRORS
)
PAUSE_OFFER = "ACTIVE → PAUSED: customers cannot accept it meanwhile. " + STATUS_ERRORS
EXPIRE_OFFER = "DRAFT, ACTIVE or PAUSED → EXPIRED, for good. " + STATUS_ERRORS
TARGET_OFFER = (
    "Assigns a live offer to every eligible customer who consented to marketing (any "
    "channel), best affinity first within its quota; nobody gets it twice. "
    + WRITERS
    + "CONFLICT (not ACTIVE inside its window)."
)
VIEW_OFFER = "The customer opened the offer: TARGETED → VIEWED" + CUSTOMER_STEP + "."
ACCEPT_OFFER = (
    "The customer takes the offer: → ACCEPTED, with a one-time redemption code; the offer "
    "must be live" + CUSTOMER_STEP + ", CONFLICT."
)
