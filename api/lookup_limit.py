"""One exact-match lookup per request, refused before anything runs (issue 11 item 1).

A lookup (``auth.policy.LOOKUP_FIELDS``) is a disclosure counted against the caller's
budget; aliases would let one request make fifteen of them at once, racing the budget and
turning the oracle into a batch job. This validation rule counts, per operation, the lookup
fields it would execute (distinct response keys at the root, through fragments) and refuses
an operation with more than one with QUERY_TOO_COMPLEX, so none of them runs.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

from api.errors import ErrorCode
from auth.policy import LOOKUP_FIELDS


def _lookup_keys(
    selection_set: SelectionSetNode, context: ValidationContext, seen: set[str]
) -> set[str]:
    """The response keys of the lookup fields a root selection set executes."""
    keys: set[str] = set()
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value in LOOKUP_FIELDS:
                keys.add(selection.alias.value if selection.alias else selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            keys |= _lookup_keys(selection.selection_set, context, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = context.get_fragment(selection.name.value)
            if fragment is not None:
                keys |= _lookup_keys(fragment.selection_set, context, seen)
    return keys


class OneLookupPerOperation(ValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        found = len(_lookup_keys(node.selection_set, self.context, set()))
        if found > 1:
            self.report_error(
                GraphQLError(
                    f"The operation makes {found} exact-match lookups "
                    f"({', '.join(sorted(LOOKUP_FIELDS))}); the limit is 1. "
                    "Send each lookup as a request of its own.",
                    node,
                    extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value},
                )
            )
