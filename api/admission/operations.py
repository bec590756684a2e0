"""What kind of operation a GraphQL request asks for, read before it runs (idempotency keys
apply to mutations; only subscriptions run over a WebSocket)."""

from __future__ import annotations

from graphql import GraphQLError, OperationType, get_operation_ast, parse


def operation_type(
    document: object, operation_name: object, *, max_tokens: int | None = None
) -> OperationType | None:
    """The type of the selected operation; None when the document is not a string, does not
    parse (within ``max_tokens``, if given) or names no such operation. Execution itself
    reports those problems properly."""
    if not isinstance(document, str):
        return None
    try:
        parsed = parse(document, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return None
    operation = get_operation_ast(
        parsed, operation_name if isinstance(operation_name, str) else None
    )
    return operation.operation if operation else None


def is_subscription(document: object, operation_name: object, *, max_tokens: int) -> bool:
    """Whether the selected operation is a subscription; parsed only when the text mentions
    one at all, so the common request pays nothing."""
    return (
        isinstance(document, str)
        and "subscription" in document
        and operation_type(document, operation_name, max_tokens=max_tokens)
        is OperationType.SUBSCRIPTION
    )
