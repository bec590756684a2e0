"""Turns every GraphQL error into one with a stable ``extensions.code`` and the request id.

Expected failures (``core.errors.DomainError``) keep their message and code. Errors graphql
raises itself get the code of the step that raised them: GRAPHQL_PARSE_FAILED for a document
that does not parse, GRAPHQL_VALIDATION_FAILED for one that does not validate, BAD_USER_INPUT
for variables it cannot coerce and for an operation name the document lacks. Anything else is
masked to INTERNAL_SERVER_ERROR with a generic message (a database that did not answer, to
SERVICE_UNAVAILABLE: ``core.outage``), and only its type and the request id
are logged, so no SQL, stack trace or clear value reaches a caller or a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types import StreamExecutionResult

from api import metrics
from api.middleware import current_request_id
from core.errors import INTERNAL_ERROR_MESSAGE, DomainError, ErrorCode
from core.outage import UNAVAILABLE_MESSAGE, is_database_outage

logger = logging.getLogger("cardcrm.errors")


def _with_code(error: GraphQLError, code: ErrorCode, message: str | None = None) -> GraphQLError:
    metrics.ERRORS.labels(code=code.value).inc()
    extensions: dict[str, Any] = {"code": code.value, "requestId": current_request_id()}
    original = error.original_error
    if isinstance(original, DomainError) and original.field:
        extensions["field"] = original.field
    return GraphQLError(
        message if message is not None else error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


def coded_error(error: GraphQLError, uncoded: ErrorCode = ErrorCode.BAD_USER_INPUT) -> GraphQLError:
    """``error`` with its code; ``uncoded`` is the code of graphql-core's own errors that
    carry none (the step that failed: parsing, validation, or else variable coercion)."""
    original = error.original_error
    if isinstance(original, DomainError):
        return _with_code(error, original.code, original.message)
    if isinstance(original, CannotGetOperationTypeError):  # an operationName not in the document
        return _with_code(error, ErrorCode.BAD_USER_INPUT)
    if original is None or isinstance(original, GraphQLError):
        # graphql-core's own errors: invalid documents, and variables it could not coerce
        # (an unknown enum value arrives wrapped in a second GraphQLError).
        code = str((error.extensions or {}).get("code"))
        known = ErrorCode(code) if code in ErrorCode._value2member_map_ else uncoded
        return _with_code(error, known)
    if is_database_outage(original):  # retryable: the request was fine, the database was not
        return _with_code(error, ErrorCode.SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE)
    logger.error(
        "unexpected %s at %s (request %s)",
        type(original).__name__,
        error.path,
        current_request_id(),
    )
    return _with_code(error, ErrorCode.INTERNAL_SERVER_ERROR, INTERNAL_ERROR_MESSAGE)


class ErrorCodesExtension(SchemaExtension):
    """Codes every error of an operation once it is done. strawberry makes one instance per
    operation, so ``uncoded`` remembers which step of this one failed."""

    uncoded = ErrorCode.BAD_USER_INPUT

    def on_parse(self) -> Iterator[None]:
        yield
        if self.execution_context.pre_execution_errors:
            self.uncoded = ErrorCode.GRAPHQL_PARSE_FAILED

    def on_validate(self) -> Iterator[None]:
        yield
        if self.execution_context.pre_execution_errors:
            self.uncoded = ErrorCode.GRAPHQL_VALIDATION_FAILED

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            coded = [coded_error(error, self.uncoded) for error in errors]
            result.errors = coded  # type: ignore[union-attr]

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        """A subscription sends each result as it comes, long before ``on_operation`` ends."""
        errors = getattr(result, "errors", None)
        if errors:
            coded = [coded_error(error, self.uncoded) for error in errors]
            result.errors = coded  # type: ignore[union-attr]
        yield
