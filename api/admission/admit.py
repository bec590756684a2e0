"""One admission for every executor: what a GraphQL operation must pass before anything of it
runs (SPEC §4), checked in one order, refused with one set of errors.

``admit`` is the one function. The standard executor calls it through the ``QueryLimits``
schema extension below (so it holds on every transport: HTTP and WebSocket subscriptions),
the compiled executor (``api.compiled.operations``) before it runs a plan, handing any
refusal to the standard executor, which reports it. A check added here holds on both.

In order, each step only when the ones before it found nothing:

- the document's shape against the settings (``api.admission.limits.shape_errors``: depth,
  introspection depth, aliases, directives, repeated fields; in production no introspection,
  FORBIDDEN), then graphql's rule against introspection cycles;
- several operations and no ``operationName``: BAD_USER_INPUT;
- for the operation about to run: no NUL in its strings (``api.admission.nul``), then its
  page sizes and cost against the client's budget (``api.admission.limits.cost_errors``);
- validation: graphql's rules and the one-lookup rule (``api.admission.lookup_limit``), without
  "Did you mean ...?" outside development (``api.admission.suggestions``).

The shape and cost come before validation because graphql's own validation is quadratic in
repeated fields: 500 copies of one field must be refused before validation compares them
pairwise. Parsed documents (with their shape) and validation results are kept in LRUs keyed
by the document text, shared by both executors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import ASTValidationRule, MaxIntrospectionDepthRule
from strawberry.extensions import SchemaExtension

from api.admission.limits import (
    ClientPolicy,
    cost_errors,
    policy_in_force,
    shape_errors,
    too_complex,
)
from api.admission.lookup_limit import OneLookupPerOperation
from api.admission.nul import holds_nul, nul_errors
from api.admission.shape import Shape, document_shape
from api.admission.suggestions import validation_errors
from core.errors import ErrorCode
from core.lru import Lru
from core.settings import Settings

CACHE_SIZE = 1000  # distinct documents kept parsed and validated
NAME_THE_OPERATION = (
    "The document holds several operations; name the one to run in `operationName`."
)
BAD_USER_INPUT = ErrorCode.BAD_USER_INPUT.value
# graphql's rules and cardcrm's own; strawberry's two are added by ``validation_errors``.
RULES: tuple[type[ASTValidationRule], ...] = (*specified_rules, OneLookupPerOperation)


@dataclass(frozen=True)
class Parsed:
    """A parsed document and what admission measures of it once: its shape and whether a
    string literal in it holds NUL (the common request then only looks at its variables)."""

    document: DocumentNode
    shape: Shape
    holds_nul: bool

    @classmethod
    def of(cls, document: DocumentNode) -> Parsed:
        return cls(document, document_shape(document), bool(nul_errors(document, None)))


_documents: Lru[tuple[str, int], Parsed] = Lru(CACHE_SIZE)
_validations: Lru[tuple[str, bool], list[GraphQLError]] = Lru(CACHE_SIZE)


def parsed(query: str, max_tokens: int) -> Parsed:
    """The document of ``query``, parsed at most ``max_tokens`` tokens as strawberry parses it
    (comments count), from the LRU when it was parsed before; GraphQLError if it does not."""
    key = (query, max_tokens)
    found = _documents.get(key)
    if found is None:
        found = Parsed.of(parse(query, max_tokens=max_tokens))
        _documents.put(key, found)
    return found


@dataclass(frozen=True)
class Admission:
    """The outcome of ``admit``: the errors refusing the operation, else the document and the
    operation to run (None when the document names no such operation; execution reports it)."""

    errors: list[GraphQLError]
    document: DocumentNode
    operation: OperationDefinitionNode | None

    @property
    def admitted(self) -> bool:
        return not self.errors and self.operation is not None


def admit(
    schema: GraphQLSchema,
    query: str,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    settings: Settings,
    policy: ClientPolicy,
) -> Admission:
    """The checks above on ``document`` (parsed from ``query``), for the operation the request
    names (``operation_name`` as sent: None when it names none) with its raw variables."""
    known = _documents.get((query, settings.max_query_tokens)) or Parsed.of(document)
    errors = shape_errors(known.shape, settings)
    if not errors and known.shape.introspects:
        # graphql's rule against `fields { type { fields ... } }` cycles, coded here.
        errors = [
            too_complex(e.message) for e in validate(schema, document, [MaxIntrospectionDepthRule])
        ]
    if errors:
        return Admission(errors, document, None)
    if operation_name is None and _operations(document) > 1:
        # A request error in GraphQL; strawberry would run the first operation, which let a
        # subscription run over HTTP and a query or mutation over a WebSocket.
        named = GraphQLError(NAME_THE_OPERATION, extensions={"code": BAD_USER_INPUT})
        return Admission([named], document, None)
    operation = get_operation_ast(document, operation_name)
    if operation is not None:
        if known.holds_nul or (variables and holds_nul(variables)):
            errors = nul_errors(document, variables)
        errors = errors or cost_errors(schema, document, operation, variables, settings, policy)
        if errors:
            return Admission(errors, document, operation)
    errors = _validation_errors(schema, query, document, settings)
    return Admission(errors, document, operation)


def _operations(document: DocumentNode) -> int:
    return sum(isinstance(node, OperationDefinitionNode) for node in document.definitions)


def _validation_errors(
    schema: GraphQLSchema, query: str, document: DocumentNode, settings: Settings
) -> list[GraphQLError]:
    development = settings.is_development
    key = (query, development)
    found = _validations.get(key)
    if found is None:
        found = validation_errors(schema, document, RULES, hide_suggestions=not development)
        _validations.put(key, found)
    return list(found)


class QueryLimits(SchemaExtension):
    """``admit`` for the standard executor, as one schema extension (listed after
    ``ErrorCodesExtension``, so its errors get their request id and code from it). Parsing
    stays strawberry's, within ``max_query_tokens`` (else QUERY_TOO_COMPLEX), through the LRU
    of parsed documents; validation is ``admit``'s, so strawberry does not validate again."""

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
            _documents.put(key, Parsed.of(document))
        for error in context.pre_execution_errors or ():
            if isinstance(error, GraphQLSyntaxError) and "Parsing aborted" in error.message:
                error.extensions = {"code": ErrorCode.QUERY_TOO_COMPLEX.value}

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        admission = admit(
            context.schema._schema,
            context.query or "",
            context.graphql_document,
            context._provided_operation_name,
            context.variables,
            self.settings,
            policy_in_force(self.settings, context.context.principal.client_id),
        )
        # Set, even empty, so strawberry does not validate again (and with its suggestions).
        context.pre_execution_errors = admission.errors
        yield
