"""One exact-match lookup per request, refused before anything runs (issue 11 item 1).

A lookup (``auth.lookups.LOOKUP_FIELDS``) is a disclosure counted against the caller's
budget; aliases would let one request make fifteen of them at once, racing the budget and
turning the oracle into a batch job. This validation rule counts, per operation, the lookup
fields it would execute (distinct response keys at the root, through fragments) and refuses
an operation with more than one with QUERY_TOO_COMPLEX, so none of them runs; it is one of
the rules ``api.admission.admit`` validates with, for both executors. The ``LookupLimit``
extension audits each refusal (``customer.lookup.refused``, outcome ``several_lookups``): a
script's batch of guesses is in the log like every other try.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from cross_web import HTTPException
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    get_operation_ast,
    parse,
)
from strawberry.extensions import SchemaExtension

from auth import audit
from auth.audit import events_by
from auth.lookups import LOOKUP_FIELDS, LOOKUPS
from core.context import ConnectionContext, Context
from core.errors import ErrorCode
from core.lru import Lru

REFUSED_ACTION = "customer.lookup.refused"  # as resolvers.customers.disclosure writes it
_PREFIX = "The operation makes "
# A GET carries its variables in the URL, which proxies, CDNs and browsers keep.
LOOKUPS_BY_POST = "send exact-match lookups by POST: a GET's URL would hold the value looked up"
# The lookup fields of Query (a mutation by GET is refused as such, later).
QUERY_LOOKUPS = frozenset(rule.query_field for rule in LOOKUPS.values() if rule.query_field)


def _root_lookups(
    selection_set: SelectionSetNode, fragment: Callable[[str], FragmentDefinitionNode | None]
) -> Iterator[FieldNode]:
    """The lookup fields of an operation's root selection, through its fragments."""
    seen: set[str] = set()
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in LOOKUP_FIELDS:
                    yield selection
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                found = fragment(selection.name.value)
                if found is not None:
                    pending.append(found.selection_set)


_found: Lru[tuple[str, str | None, int], list[str]] = Lru(1000)


def lookups_in(document: object, operation_name: object, *, max_tokens: int) -> list[str]:
    """The lookup fields the selected operation of ``document`` would run (by response key);
    none when it is not a string or does not parse (execution reports that properly). Kept
    per text, so a known operation is not parsed again for this on every request."""
    if not isinstance(document, str):
        return []
    name = operation_name if isinstance(operation_name, str) else None
    key = (document, name, max_tokens)
    known = _found.get(key)
    if known is None:
        known = _lookups_in(document, name, max_tokens)
        _found.put(key, known)
    return known


def _lookups_in(document: str, operation_name: str | None, max_tokens: int) -> list[str]:
    try:
        parsed = parse(document, no_location=True, max_tokens=max_tokens)
    except GraphQLError:
        return []
    operation = get_operation_ast(parsed, operation_name)
    if operation is None:
        return []
    fragments = {
        definition.name.value: definition
        for definition in parsed.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    keys = {
        (field.alias or field.name).value: field.name.value
        for field in _root_lookups(operation.selection_set, fragments.get)
    }
    return sorted(keys.values())


async def check_request_lookups(
    method: str, operations: list[Any], context: Context, *, batched: bool, max_tokens: int
) -> None:
    """A request's exact-match lookups, before any of its operations runs: a batch may hold
    one in all (else it is refused, and audited), and a lookup never travels by GET, whose
    URL would keep the value looked up in proxies, CDNs and browser histories."""
    fields = [
        field
        for operation in operations
        for field in lookups_in(operation.query, operation.operation_name, max_tokens=max_tokens)
    ]
    if batched and len(fields) > 1:
        await refuse_batch(context, fields)
        raise HTTPException(
            400, f"the batch makes {len(fields)} exact-match lookups; the limit is 1 a request"
        )
    if method == "GET" and QUERY_LOOKUPS.intersection(fields):
        raise HTTPException(405, LOOKUPS_BY_POST)


async def refuse_batch(context: Context, fields: list[str]) -> None:
    """Audits a batched request whose operations together make more than one lookup: the
    limit is one lookup per request, whether in one operation or spread over a batch."""
    event = events_by(context)(
        REFUSED_ACTION, fields=sorted(set(fields)), details={"outcome": "several_lookups"}
    )
    async with context.db.exclusive() as session:
        await audit.record_and_commit(session, event)


class OneLookupPerOperation(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        lookups = _root_lookups(node.selection_set, self.context.get_fragment)
        # Fields of one response key are merged into one execution: count keys.
        found = len({(f.alias or f.name).value for f in lookups})
        if found > 1:
            self.report_error(
                GraphQLError(
                    f"{_PREFIX}{found} exact-match lookups "
                    f"({', '.join(sorted(LOOKUP_FIELDS))}); the limit is 1. "
                    "Send each lookup as a request of its own.",
                    node,
                    extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value},
                )
            )


class LookupLimit(SchemaExtension):
    """Audits the operations ``OneLookupPerOperation`` refused (admission runs the rule; a
    refusal the compiled executor meets is answered, and audited, by the standard one)."""

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context
        yield
        errors = getattr(context.result, "errors", None) or []
        if any(error.message.startswith(_PREFIX) for error in errors):
            await self._audit_refusal()

    async def _audit_refusal(self) -> None:
        context = self.execution_context
        document = context.graphql_document
        if document is None:
            return
        operation = get_operation_ast(document, context.operation_name)
        request = context.context
        if operation is None or isinstance(request, ConnectionContext):
            return  # a WebSocket runs subscriptions only; lookups are queries and mutations
        fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        lookups = _root_lookups(operation.selection_set, fragments.get)
        fields = sorted({field.name.value for field in lookups})
        event = events_by(request)(
            REFUSED_ACTION, fields=fields, details={"outcome": "several_lookups"}
        )
        async with request.db.exclusive() as session:
            await audit.record_and_commit(session, event)
