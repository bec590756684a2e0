"""The longer descriptions of the customer fields, arguments and inputs (issue 12 item 10),
kept here so ``schema/customers/customer.py`` and ``schema/customers/operations.py`` stay
short. Bounds are quoted from ``core.text_limits``, ``core.money`` and the validators, never
restated by hand."""

from __future__ import annotations

from core import text_limits
from core.money import MAX_YUAN
from resolvers.customers.input import TAGS_RULE
from resolvers.customers.lookups import NAME_MATCHES

# Consent (what is recorded) and ConsentInput (what a write sets).
SMS = "Whether the customer agreed to marketing by SMS."
EMAIL_CONSENT = "Whether the customer agreed to marketing by e-mail."
PUSH = "Whether the customer agreed to marketing by push notification in the app."
PHONE_CONSENT = "Whether the customer agreed to marketing by phone call."
DND_START = (
    "Start of the daily do-not-disturb window, 24-hour HH:MM in the contact time zone "
    "(CARDCRM_CONTACT_TIMEZONE, default Asia/Shanghai); no marketing contact inside it."
)
DND_END = (
    "End of the do-not-disturb window (exclusive), HH:MM; 22:00 to 08:00 wraps midnight. "
    "The window applies only when both ends are set."
)
PREFERRED = (
    "The channel the customer prefers, as entered (e.g. `sms`, at most 16 characters); "
    "informational only."
)

# Customer fields.
CUSTOMER = "A cardholder. C2 fields are sealed at rest and masked per role."
SEGMENTS = (
    "Behaviour segments from the last evaluation: `high_frequency`, `big_ticket` and merchant "
    "categories holding much of the spend (e.g. `dining`); empty until then."
)
VERSION_FIELD = (
    "Raised by every change (edits, overrides, evaluation); give it back to `updateCustomer` "
    "or `overrideCustomerTier`, which refuse a stale one (CONFLICT)."
)

# Lookups and customer inputs.
REASON = "Why you look the customer up: a code, kept in the audit log with the lookup."
LOOKUP_MISS = "The customer in your scope with this value; a miss is NOT_FOUND (and counted)."
MALFORMED = " A malformed value is BAD_USER_INPUT and no lookup (not counted)."
PHONE = (
    "A mainland mobile number: 11 digits starting 13 to 19, optionally +86; spaces and dashes "
    f"allowed, at most {text_limits.PHONE} characters."
)
ID_NUMBER = (
    "A mainland resident ID: 17 digits then a digit or X, with a valid check character; "
    f"spaces and dashes allowed, at most {text_limits.ID_NUMBER} characters."
)
NAME = f"Full name, 1 to {text_limits.NAME} characters (NFC-normalised, whitespace collapsed)."
PHONE_LOOKUP = PHONE + MALFORMED
ID_NUMBER_LOOKUP = ID_NUMBER + MALFORMED
ONE_OF = "give exactly one of phoneLast4 and cardLast4."
PHONE_LAST4 = f"The last 4 digits of the customer's mobile number; {ONE_OF}"
CARD_LAST4 = f"The last 4 digits of one of the customer's cards; {ONE_OF}"
NAMESAKES = f"The most namesakes to list: 1 to {NAME_MATCHES}."
EMAIL = f"An address like name@example.com, at most {text_limits.EMAIL} characters."
ADDRESS = f"Postal address, 1 to {text_limits.ADDRESS} characters once whitespace is collapsed."
BRANCH = (
    "The customer's branch (a Branch ID). Agents and supervisors: only their own, the default; "
    "roles across branches must give one."
)
BIRTH_DATE = "Date of birth (YYYY-MM-DD); must match the one inside `idNumber`."
NEW_ID_NUMBER = ID_NUMBER + " One customer per ID: a registered one is a CONFLICT."
NEW_CUSTOMER_NUMBER = (
    "The bank's own customer number (its core banking CIF number): 4 to 32 letters A-Z and"
    " digits, spaces and dashes dropped, upper-cased. One customer per number: a registered"
    " one is a CONFLICT. Null: none (`cardcrm import customers` always sets one)."
)
VERSION = "The `version` you read; any other is a CONFLICT (reload and retry)."
UNCHANGED = " Null: unchanged."
CONSENT_CHANGE = "Replaces all of the consent (a channel left out becomes false)." + UNCHANGED
TAGS_CHANGE = TAGS_RULE + " Replaces all the tags." + UNCHANGED
PAN = (
    "The card number: 16 to 19 digits passing the Luhn check; spaces and dashes allowed, at "
    f"most {text_limits.PAN} characters. Sealed; only its BIN and last 4 are kept in clear."
)
CARD_PRODUCT = (
    f"The card product, at most {text_limits.CARD_PRODUCT} characters; blank: `UnionPay Classic`."
)
CREDIT_LIMIT = f"The credit limit in yuan: a decimal string, 0 to {MAX_YUAN}, two decimals at most."

# Payloads and mutations.
PAYLOAD_ERRORS = "Why nothing was written (see each mutation for its codes); empty on success."
REVEALED_VALUES = (
    "The customer's values in the order asked, then one PAN per card (oldest card first); "
    "empty when there are userErrors."
)
CREATE_CUSTOMER = (
    "Creates a customer and their cards; audited. userErrors: "
    "BAD_USER_INPUT, FORBIDDEN, CONFLICT (national ID or card number already registered: "
    "counted and audited as a lookup), RATE_LIMITED (lookup budget spent)."
)
UPDATE_CUSTOMER = (
    "Changes the given fields of a customer in your scope; audited. userErrors: "
    "BAD_USER_INPUT (bad value, nothing to change), FORBIDDEN, NOT_FOUND, CONFLICT (stale "
    "`version`)."
)
REVEAL_CUSTOMER_PII = (
    "Returns clear C2 values for a written purpose (to a role each field's description "
    "names); audited without the values; at most CARDCRM_REVEAL_LIMIT_PER_HOUR "
    "(default 20) an hour. userErrors: BAD_USER_INPUT, FORBIDDEN, NOT_FOUND, RATE_LIMITED."
)
