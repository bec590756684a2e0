"""The abuse limits on GraphQL operations (SPEC §4): what each is, per client, and the error
that refuses an operation breaking it. ``api.admission.admit`` applies them, in its order,
for both executors.

- shape (``shape_errors``): depth, introspection depth, aliases, directives and repeated
  fields (``api.admission.shape``) against the settings; in production no introspection
  (FORBIDDEN);
- cost (``cost_errors``): the page sizes an operation asks for, and its cost
  (``api.admission.cost``) against the client's budget.

The budget can differ per client (``ClientPolicy``): the HTTP view makes the policy of each
request from the token's client id and the ``X-App-Version`` header and applies it
(``applying``) while it handles the request; a WebSocket subscription gets its client's own
(``policy_in_force``). No role is exempt.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode

from api.admission.cost import operation_cost
from api.admission.shape import Shape
from core.errors import ErrorCode
from core.settings import Settings

APP_VERSION_HEADER = "x-app-version"
DEFAULT_ALLOW_LIST = "default"
MAX_APP_VERSION = 32
_VALID_APP_VERSION = re.compile(r"[A-Za-z0-9._+-]{1,32}")  # fullmatch: "$" would let "\n" in
TOO_DEEP_TO_MEASURE = "The document is nested too deeply to be measured; flatten it."


@dataclass(frozen=True)
class ClientPolicy:
    """What one client may run: its cost budget and the allow-list it draws from."""

    client: str
    max_cost: int
    allow_list: str


def client_policy(
    settings: Settings, client_id: str, app_version: str | None = None
) -> ClientPolicy:
    """The policy of ``client_id``, refined by a well-formed app version when one is given."""
    well_formed = (
        app_version is not None
        and len(app_version) <= MAX_APP_VERSION
        and _VALID_APP_VERSION.fullmatch(app_version) is not None
    )
    version = app_version if well_formed else None
    keys = [f"{client_id}/{version}", client_id] if version else [client_id]
    costs, lists = settings.client_max_query_cost, settings.client_allow_lists
    return ClientPolicy(
        client=keys[0],
        max_cost=next((costs[key] for key in keys if key in costs), settings.max_query_cost),
        allow_list=next((lists[key] for key in keys if key in lists), DEFAULT_ALLOW_LIST),
    )


_policy: ContextVar[ClientPolicy | None] = ContextVar("client_policy", default=None)


@contextmanager
def applying(policy: ClientPolicy) -> Iterator[None]:
    """Makes ``policy`` the one the limits apply to the operations run inside the block."""
    token = _policy.set(policy)
    try:
        yield
    finally:
        _policy.reset(token)


def too_complex(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value})


def shape_errors(shape: Shape, settings: Settings) -> list[GraphQLError]:
    if shape.too_deep_to_measure:
        return [too_complex(TOO_DEEP_TO_MEASURE)]
    if shape.introspects and not settings.is_development:
        message = "Introspection is disabled in production; use the published schema."
        return [GraphQLError(message, extensions={"code": ErrorCode.FORBIDDEN.value})]
    checks = (
        (shape.depth, settings.max_query_depth, "is {} levels deep", "Nest fewer fields."),
        (
            shape.introspection_depth,
            settings.max_introspection_depth,
            "introspects {} levels deep",
            "Ask for a shallower introspection query.",
        ),
        (shape.aliases, settings.max_query_aliases, "uses {} aliases", "Use fewer aliases."),
        (
            shape.directives,
            settings.max_query_directives,
            "uses {} directives",
            "Use fewer directives.",
        ),
        (
            shape.repeats,
            settings.max_field_repeats,
            "selects one field {} times",
            "Select it once.",
        ),
    )
    return [
        too_complex(f"The operation {what.format(found)}; the limit is {limit}. {fix}")
        for found, limit, what, fix in checks
        if found > limit
    ]


def policy_in_force(settings: Settings, client_id: str) -> ClientPolicy:
    """The policy ``applying`` set for this request, else the client's own."""
    return _policy.get() or client_policy(settings, client_id)


def cost_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any] | None,
    settings: Settings,
    policy: ClientPolicy,
) -> list[GraphQLError]:
    """The operation's page sizes and cost against ``policy``; every executor checks these."""
    try:
        cost = operation_cost(
            schema,
            document,
            operation,
            variables,
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_page_size,
        )
    except RecursionError:
        return [too_complex(TOO_DEEP_TO_MEASURE)]
    if cost.oversized is not None:
        message = f"`{cost.oversized.argument}` must be between 0 and {settings.max_page_size}"
        return [GraphQLError(message, extensions={"code": ErrorCode.BAD_USER_INPUT.value})]
    if cost.total > policy.max_cost:
        return [
            too_complex(
                f"The operation costs {cost.total}; the limit is {policy.max_cost}. "
                "Ask for smaller pages (`first`/`last`) or fewer nested lists."
            )
        ]
    return []
