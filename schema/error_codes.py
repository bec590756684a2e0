"""What each error code (``core.errors.ErrorCode``) tells a client: the ``ErrorCode`` enum's
description and one per value, which ``schema.enums`` registers with the other enums."""

from __future__ import annotations

_NO_RETRY = "retrying unchanged will not help"

ERROR_CODES: tuple[str, dict[str, str]] = (
    "Stable error code, in `extensions.code` of GraphQL errors and in `userErrors.code`.",
    {
        "UNAUTHENTICATED": "No valid access token (missing, malformed, expired or revoked; "
        "HTTP 401). Get a new token, then retry.",
        "FORBIDDEN": "Your role, token scopes or row scope do not allow this field or "
        f"action (null at its path); {_NO_RETRY}.",
        "NOT_FOUND": "No such object, or none you may see (the two are not told apart); "
        f"{_NO_RETRY}.",
        "BAD_USER_INPUT": "An argument, input field or variable is invalid (`field` names "
        f"it when known); fix the input, {_NO_RETRY}.",
        "CONFLICT": "The change clashes with the current state (a workflow step not allowed "
        "now, a stale version, a used code, a busy Idempotency-Key); reload, then retry "
        "if it still applies.",
        "RATE_LIMITED": "Too many requests, lookups or reveals in the current window; retry "
        "once it has passed (HTTP answers carry Retry-After).",
        "QUERY_TOO_COMPLEX": "The operation is over a limit (size, depth, aliases, cost, page "
        "size, one lookup per request) or outran the deadline; ask for less, "
        f"{_NO_RETRY}.",
        "PERSISTED_QUERY_NOT_FOUND": "The server does not know this persisted-query hash; "
        "send the query text with its hash (or use an allow-listed operation).",
        "INTERNAL_SERVER_ERROR": "An unexpected fault on the server, message withheld; quote "
        "`extensions.requestId` when reporting it. A retry may or may not succeed.",
        "GRAPHQL_PARSE_FAILED": f"The document is not valid GraphQL syntax; {_NO_RETRY}.",
        "GRAPHQL_VALIDATION_FAILED": "The document does not validate against this schema "
        f"(unknown field, wrong argument type, ...); {_NO_RETRY}.",
        "KEY_UNAVAILABLE": "A value is encrypted under a data key this deployment does not "
        "hold; an operator must restore it, retrying does not help until then.",
        "SERVICE_UNAVAILABLE": "The database did not answer in time (HTTP 503 with "
        "Retry-After); the request was fine, retry after that many seconds.",
        "CONTACT_NOT_ALLOWED": "The collection contact rules refuse this contact now "
        "(quiet hours, or the customer's attempts for the day are used up); nothing was "
        "written; retry when the rules allow it.",
        "INSUFFICIENT_POINTS": "redeemReward: the customer's points balance is below the "
        f"reward's price; nothing was spent, {_NO_RETRY} until they earn more.",
        "OUT_OF_STOCK": "redeemReward: the reward has no stock left; nothing was spent, "
        f"{_NO_RETRY}.",
        "SURVEY_EXPIRED": "answerSurvey: the survey's answer window has closed (its "
        f"`expiresAt` has passed); nothing was recorded, {_NO_RETRY}.",
        "PASSWORD_CHANGE_REQUIRED": "Staff sign-in only (`POST /auth/login`, HTTP 403): the "
        "password is a one-time password; set your own with `POST /auth/password`, which "
        "answers the tokens.",
        "LINK_GONE": "A data export's download link (`GET /privacy/exports/<token>`, HTTP "
        "410) was used already or has run out; ask for a new link with "
        "createMyDataExportLink while the export is ready, or request a new export.",
        "LEGAL_HOLD": "decideErasure: a legal hold forbids erasing the customer now; the "
        "message names them (OPEN_BALANCE, OPEN_DISPUTE, RETENTION_PERIOD). Nothing was "
        "written; approve once they are lifted, or reject the request.",
        "CUSTOMER_ERASED": "The customer was erased (a tombstone): no new data is written "
        f"about them; {_NO_RETRY}.",
    },
)
