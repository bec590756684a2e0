"""The error codes of the API and the exceptions that carry them.

This is the one place the stable ``extensions.code`` values are defined (SPEC §4). The
service layer raises these exceptions without knowing about GraphQL; the schema extension in
``api.error_handling`` turns them into GraphQL errors, and turns anything else into a masked
INTERNAL_SERVER_ERROR so no stack trace or SQL ever reaches a caller.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    # A document that does not parse, and one that parses but does not validate against the
    # schema: the codes Apollo's clients expect for those request errors.
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    KEY_UNAVAILABLE = "KEY_UNAVAILABLE"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    # A collection contact the collection contact rules refuse (quiet hours, daily cap).
    CONTACT_NOT_ALLOWED = "CONTACT_NOT_ALLOWED"
    # redeemReward (issue 15): the customer's points, or the reward's stock, fall short.
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    # answerSurvey (issue 15): the survey's answer window has closed.
    SURVEY_EXPIRED = "SURVEY_EXPIRED"
    # A staff sign-in with a one-time password: no token until the password is changed
    # (POST /auth/password; issue 16).
    PASSWORD_CHANGE_REQUIRED = "PASSWORD_CHANGE_REQUIRED"
    # A data export's download link used already, or run out (GET /privacy/exports/<token>,
    # HTTP 410; issue 16).
    LINK_GONE = "LINK_GONE"
    # decideErasure (issue 16): a legal hold (open balance, open dispute, retention period)
    # forbids erasing the customer now; the message names the holds.
    LEGAL_HOLD = "LEGAL_HOLD"
    # A write about a customer who was erased (issue 16): the tombstone takes no new data.
    CUSTOMER_ERASED = "CUSTOMER_ERASED"


class DomainError(Exception):
    """An expected failure: its message is safe to show to the caller."""

    code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class BadUserInput(DomainError):
    code = ErrorCode.BAD_USER_INPUT


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class ContactNotAllowed(DomainError):
    code = ErrorCode.CONTACT_NOT_ALLOWED


class InsufficientPoints(Conflict):
    code = ErrorCode.INSUFFICIENT_POINTS


class OutOfStock(Conflict):
    code = ErrorCode.OUT_OF_STOCK


class SurveyExpired(Conflict):
    code = ErrorCode.SURVEY_EXPIRED


class PasswordChangeRequired(DomainError):
    code = ErrorCode.PASSWORD_CHANGE_REQUIRED


class LinkGone(DomainError):
    code = ErrorCode.LINK_GONE


class LegalHold(Conflict):
    code = ErrorCode.LEGAL_HOLD

    def __init__(self, holds: list[str]) -> None:
        super().__init__(
            f"legal holds apply: {', '.join(holds)}; erase once they are lifted, or reject "
            "the request",
            field="approve",
        )
        self.holds = holds


class CustomerErased(Conflict):
    code = ErrorCode.CUSTOMER_ERASED


class RateLimited(DomainError):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class KeyUnavailable(DomainError):
    """A value is sealed under a data-key version the database does not hold even after a
    reload (retired, or never created here): an operator's problem, named as one."""

    code = ErrorCode.KEY_UNAVAILABLE


class ServiceUnavailable(DomainError):
    """A part the service depends on (the database) did not answer in time: nothing is wrong
    with the request, and the same request may succeed later (after ``retry_after_seconds``
    when the raiser knows; the HTTP answer's ``Retry-After`` comes from the settings)."""

    code = ErrorCode.SERVICE_UNAVAILABLE

    def __init__(self, message: str, *, retry_after_seconds: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


INTERNAL_ERROR_MESSAGE = "Internal server error; quote the request id when reporting it."
