"""Abuse limits on GraphQL operations, enforced before any resolver runs (SPEC §4).

``QueryLimits`` is a strawberry schema extension, so the limits hold on every transport
(HTTP and WebSocket subscriptions) and read the settings of the app serving the request:

- parsing: at most ``max_query_tokens`` tokens (graphql-core's ``max_tokens``, comments
  included), else QUERY_TOO_COMPLEX; parsed documents are kept in an LRU keyed by their text.
- before validation: the document's shape (``api.admission.shape``: depth, introspection depth,
  aliases, directives, repeated fields) and, for the operation about to run, its cost
  (``api.admission.cost``) against the client's budget, the page sizes it asks for, and no NUL in
  its strings (``api.admission.nul``). This runs first because graphql's own validation is quadratic
  in repeated fields: 500 copies of one field must be refused before validation compares them
  pairwise.
- validation: graphql's rules (``api.admission.suggestions``: without "Did you mean ...?" outside
  development), results kept in an LRU keyed by the document text and the environment; in
  production also no introspection (FORBIDDEN).

The budget can differ per client (``ClientPolicy``): the HTTP view sets the policy of each
request from the token's client id and the ``X-App-Version`` header; no role is exempt.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    get_operation_ast,
    validate,
)
from graphql.validation import MaxIntrospectionDepthRule
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from api.admission.cost import operation_cost
from api.admission.nul import nul_errors
from api.admission.shape import Shape, document_shape
from api.admission.suggestions import validation_errors
from core.errors import ErrorCode
from core.lru import Lru
from core.settings import Settings

APP_VERSION_HEADER = "x-app-version"
DEFAULT_ALLOW_LIST = "default"
CACHE_SIZE = 1000  # distinct documents kept parsed and validated
MAX_APP_VERSION = 32
_VALID_APP_VERSION = re.compile(r"[A-Za-z0-9._+-]{1,32}")  # fullmatch: "$" would let "\n" in
NAME_THE_OPERATION = (
    "The document holds several operations; name the one to run in `operationName`."
)
BAD_USER_INPUT = ErrorCode.BAD_USER_INPUT.value
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


@dataclass(frozen=True)
class _Parsed:
    document: DocumentNode
    shape: Shape


_documents: Lru[tuple[str, int], _Parsed] = Lru(CACHE_SIZE)
_validations: Lru[tuple[object, ...], list[GraphQLError]] = Lru(CACHE_SIZE)


class QueryLimits(SchemaExtension):
    """The limits above, as one schema extension (listed after ``ErrorCodesExtension``, so
    its errors get their request id and code from it)."""

    @property
    def settings(self) -> Settings:
        settings: Settings = self.execution_context.context.settings
        return settings

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        max_tokens = self.settings.max_query_tokens
        context.parse_options["max_tokens"] = max_tokens
        key = (context.query or "", max_tokens)
        cached = _documents.get(key)
        if cached is not None:
            context.graphql_document = cached.document
        yield
        document = context.graphql_document
        if cached is None and document is not None:
            _documents.put(key, _Parsed(document, document_shape(document)))
        for error in context.pre_execution_errors or ():
            if isinstance(error, GraphQLSyntaxError) and "Parsing aborted" in error.message:
                error.extensions = {"code": ErrorCode.QUERY_TOO_COMPLEX.value}

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        refused = self._refusals()
        if refused:
            context.pre_execution_errors = refused
            yield
            return
        development = self.settings.is_development
        key = (context.query, development, context.validation_rules)
        found = _validations.get(key)
        if found is None:
            assert context.graphql_document is not None
            found = validation_errors(
                context.schema._schema,
                context.graphql_document,
                context.validation_rules,
                hide_suggestions=not development,
            )
            _validations.put(key, found)
        # Set, so strawberry does not validate again (and with its suggestions).
        context.pre_execution_errors = list(found)
        yield

    def _refusals(self) -> list[GraphQLError]:
        """The limits this operation breaks, before graphql's own validation runs."""
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        parsed = _documents.get((context.query or "", self.settings.max_query_tokens))
        shape = parsed.shape if parsed is not None else document_shape(document)
        errors = shape_errors(shape, self.settings)
        if not errors and shape.introspects:
            # graphql's rule against `fields { type { fields ... } }` cycles, coded here.
            found = validate(context.schema._schema, document, [MaxIntrospectionDepthRule])
            errors = [too_complex(error.message) for error in found]
        if errors:
            return errors
        if _unnamed_choice(context, document):
            return [GraphQLError(NAME_THE_OPERATION, extensions={"code": BAD_USER_INPUT})]
        operation = get_operation_ast(document, context.operation_name)
        if operation is None:
            return []
        return nul_errors(document, context.variables) or self._cost_errors(operation)

    def _cost_errors(self, operation: OperationDefinitionNode) -> list[GraphQLError]:
        context = self.execution_context
        assert context.graphql_document is not None
        return cost_errors(
            context.schema._schema,
            context.graphql_document,
            operation,
            context.variables,
            self.settings,
            policy_in_force(self.settings, context.context.principal.client_id),
        )


def _unnamed_choice(context: ExecutionContext, document: DocumentNode) -> bool:
    """Several operations and no ``operationName``: a request error in GraphQL, but strawberry
    runs the first one (its ``operation_name`` falls back to the first operation's name),
    which let a subscription run over HTTP and a query or mutation over a WebSocket."""
    operations = sum(isinstance(node, OperationDefinitionNode) for node in document.definitions)
    return operations > 1 and context._provided_operation_name is None


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
