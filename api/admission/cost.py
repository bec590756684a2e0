"""The cost model of a GraphQL operation, computed from the document before anything runs.

Every field costs 1. A list multiplies the cost of what it selects by the number of items it
may return: a connection's ``first``/``last`` (from the document, its variables or the
argument's default), else ``default_page_size``. The ``edges`` of a connection hold the page
its connection already counted, so they do not multiply again. For example

    customers(first: 100) { edges { node { name cards { pan } } } }

costs 1 + 100 × (edges 1 + node (1 + name 1 + cards (1 + 20 × pan 1))) = 2,401.

Fragments are expanded where they are spread, each one computed once (a fragment spread
twice in each of forty nested fragments must not take 2⁴⁰ steps), and a spread that closes a
cycle costs nothing here (validation refuses cycles). Introspection fields cost 1 and are
not descended: their depth has its own limit, and production refuses them.

While reading page sizes the walk also notes a ``first``/``last`` outside 0..max_page_size,
so an oversized page is refused before any resolver, as ``PageArgs`` would refuse it later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
)

PAGE_ARGUMENTS = ("first", "last")
CONNECTION_SUFFIX = "Connection"


@dataclass(frozen=True)
class OversizedPage:
    """A ``first``/``last`` outside 0..max_page_size, found before execution."""

    argument: str
    value: int


@dataclass(frozen=True)
class Cost:
    total: int
    oversized: OversizedPage | None = None


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    *,
    default_page_size: int,
    max_page_size: int,
) -> Cost:
    """The cost of ``operation``; a too deeply nested document raises RecursionError."""
    walk = _CostWalk(schema, document, operation, variables or {}, default_page_size, max_page_size)
    root = schema.get_root_type(operation.operation)
    total = walk.selection_set(operation.selection_set, root)
    return Cost(total, walk.oversized)


def _is_list(type_: GraphQLOutputType) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


class _CostWalk:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        default_page_size: int,
        max_page_size: int,
    ) -> None:
        self.schema = schema
        self.default_page_size = default_page_size
        self.max_page_size = max_page_size
        self.variables = variables
        self.variable_defaults = {
            definition.variable.name.value: definition.default_value
            for definition in operation.variable_definitions or ()
        }
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.fragment_costs: dict[str, int] = {}
        self.entered: set[str] = set()
        self.oversized: OversizedPage | None = None

    def selection_set(self, node: SelectionSetNode, parent: GraphQLNamedType | None) -> int:
        total = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, target)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def fragment(self, name: str) -> int:
        if name in self.fragment_costs:
            return self.fragment_costs[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.entered:
            return 0  # unknown or cyclic: validation reports both
        self.entered.add(name)
        target = self.schema.get_type(definition.type_condition.name.value)
        cost = self.selection_set(definition.selection_set, target)
        self.entered.discard(name)
        self.fragment_costs[name] = cost
        return cost

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> int:
        name = node.name.value
        definition = self._definition(parent, name)
        if name.startswith("__") or node.selection_set is None or definition is None:
            return 1
        size = self._page_size(node, definition, parent)
        return 1 + size * self.selection_set(node.selection_set, get_named_type(definition.type))

    @staticmethod
    def _definition(parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
        if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            field: GraphQLField | None = parent.fields.get(name)
            return field
        return None

    def _page_size(
        self, node: FieldNode, definition: GraphQLField, parent: GraphQLNamedType | None
    ) -> int:
        """How many items the field may return: 1 unless it is a list or a connection."""
        requested = [
            size
            for argument in PAGE_ARGUMENTS
            if argument in definition.args
            and (size := self._requested(node, argument, definition)) is not None
        ]
        if requested:
            return max(requested)
        if any(argument in definition.args for argument in PAGE_ARGUMENTS):
            return self.default_page_size
        if not _is_list(definition.type):
            return 1
        if parent is not None and parent.name.endswith(CONNECTION_SUFFIX):
            return 1  # a connection's edges: the connection counted its page
        return self.default_page_size

    def _requested(self, node: FieldNode, argument: str, definition: GraphQLField) -> int | None:
        value: object = definition.args[argument].default_value
        for given in node.arguments or ():
            if given.name.value == argument:
                value = self._value(given.value)
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        if not 0 <= value <= self.max_page_size and self.oversized is None:
            self.oversized = OversizedPage(argument, value)
        return max(0, value)

    def _value(self, node: ValueNode) -> object:
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, VariableNode):
            name = node.name.value
            if name in self.variables:
                return self.variables[name]
            default = self.variable_defaults.get(name)
            return self._value(default) if default is not None else None
        return None
