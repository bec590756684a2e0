"""What an HTTP request must pass before either executor sees any of its operations.

``api.admission.admit`` judges one operation; some rules are about the request: each
operation's text must be known (sent, or found by its persisted-query hash under the
client's allow-list, ``api.admission.persisted``) before any of a batch runs, subscriptions
run over the WebSocket only, and a request makes one exact-match lookup at most and never by
GET (``api.admission.lookup_limit``). The HTTP view calls ``admit_request`` once, before it
picks the executor, so these hold on both.
"""

from __future__ import annotations

from cross_web import HTTPException
from strawberry.http import GraphQLRequestData

from api.admission.limits import policy_in_force
from api.admission.lookup_limit import check_request_lookups
from api.admission.operations import is_subscription
from api.admission.persisted import PersistedQueries
from core.context import Context
from core.settings import Settings

SUBSCRIPTIONS_OVER_WEBSOCKET = (
    "subscriptions run over the WebSocket at /graphql (graphql-transport-ws), not over HTTP"
)


async def admit_request(
    operations: list[GraphQLRequestData],
    context: Context,
    *,
    method: str,
    batched: bool,
    persisted: PersistedQueries,
    settings: Settings,
) -> None:
    """Sets each operation's text; raises ``PersistedQueryRefused`` for a hash it cannot
    run, and ``HTTPException`` for a subscription (400), a batch's several lookups (400,
    audited) or a lookup by GET (405)."""
    allow_list = policy_in_force(settings, context.principal.client_id).allow_list
    max_tokens = settings.max_query_tokens
    for operation in operations:
        operation.query = await persisted.resolve(  # type: ignore[assignment]
            operation.query, operation.extensions, allow_list=allow_list
        )
        if is_subscription(operation.query, operation.operation_name, max_tokens=max_tokens):
            raise HTTPException(400, SUBSCRIPTIONS_OVER_WEBSOCKET)
    await check_request_lookups(method, operations, context, batched=batched, max_tokens=max_tokens)
