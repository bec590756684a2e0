"""Whether a response's ``data`` conforms to the schema for the document that asked for it.

schemathesis' own GraphQL conformance check only recognises graphql-core's "Cannot return
null for non-nullable field" message, which this API masks as INTERNAL_SERVER_ERROR; this
walks the data itself: every selected field is there, nothing non-null is null, lists are
lists, enums are members, and scalars are of their kind (Date, DateTime and Decimal parse).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import graphql


def nonconforming(schema: graphql.GraphQLSchema, document: str, data: Any) -> list[str]:
    """Where ``data`` breaks ``schema`` for ``document`` (one operation); empty if nowhere."""
    ast = graphql.parse(document)
    [operation] = [d for d in ast.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    root = schema.get_root_type(operation.operation)
    assert root is not None, f"the schema has no {operation.operation.value} type"
    walk = _Walk(schema, {d.name.value: d for d in ast.definitions if _is_fragment(d)})
    walk.object(root, data, operation.selection_set, "data")
    return walk.problems


def _is_fragment(node: graphql.DefinitionNode) -> bool:
    return isinstance(node, graphql.FragmentDefinitionNode)


@dataclass
class _Walk:
    schema: graphql.GraphQLSchema
    fragments: dict[str, graphql.DefinitionNode]
    problems: list[str] = field(default_factory=list)

    def object(
        self,
        kind: graphql.GraphQLNamedType,
        value: Any,
        selection_set: graphql.SelectionSetNode,
        at: str,
    ) -> None:
        if not isinstance(value, dict):
            self.problems.append(f"{at}: {value!r} is not an object")
            return
        if isinstance(kind, graphql.GraphQLObjectType):
            self._object_of(kind, value, selection_set, at)
            return
        # An interface or a union: the object type ``__typename`` names, or else (when it is
        # not selected) any possible type whose selected fields are exactly those present.
        assert isinstance(kind, graphql.GraphQLInterfaceType | graphql.GraphQLUnionType)
        possible = self.schema.get_possible_types(kind)
        named = [t for t in possible if t.name == value.get("__typename")]
        candidates = named or [t for t in possible if self._keys(selection_set, t) == value.keys()]
        trials = []
        for candidate in candidates:
            trial = _Walk(self.schema, self.fragments)
            trial._object_of(candidate, value, selection_set, at)
            if not trial.problems:
                return
            trials.append(trial)
        if len(trials) == 1:  # the one type it can be: say what in it is wrong
            self.problems.extend(trials[0].problems)
        else:
            self.problems.append(f"{at}: {sorted(value)} fits no {kind.name} type")

    def _object_of(
        self,
        runtime: graphql.GraphQLObjectType,
        value: dict[str, Any],
        selection_set: graphql.SelectionSetNode,
        at: str,
    ) -> None:
        fields = self._fields(selection_set, runtime)
        for extra in value.keys() - {(node.alias or node.name).value for node in fields}:
            self.problems.append(f"{at}.{extra}: not selected")
        for node in fields:
            key = (node.alias or node.name).value
            where = f"{at}.{key}"
            if key not in value:
                self.problems.append(f"{where}: missing")
            elif node.name.value == "__typename":
                if value[key] != runtime.name:
                    self.problems.append(f"{where}: {value[key]!r} is not {runtime.name}")
            else:
                self.value(runtime.fields[node.name.value].type, value[key], node, where)

    def _keys(
        self, selection_set: graphql.SelectionSetNode, runtime: graphql.GraphQLObjectType
    ) -> set[str]:
        return {(node.alias or node.name).value for node in self._fields(selection_set, runtime)}

    def value(
        self, kind: graphql.GraphQLOutputType, value: Any, node: graphql.FieldNode, at: str
    ) -> None:
        if isinstance(kind, graphql.GraphQLNonNull):
            if value is None:
                self.problems.append(f"{at}: null in a non-null {kind}")
                return
            kind = kind.of_type
        if value is None:
            return
        if isinstance(kind, graphql.GraphQLList):
            if not isinstance(value, list):
                self.problems.append(f"{at}: {value!r} is not a list")
                return
            for index, item in enumerate(value):
                self.value(kind.of_type, item, node, f"{at}[{index}]")
        elif isinstance(kind, graphql.GraphQLEnumType):
            if value not in kind.values:
                self.problems.append(f"{at}: {value!r} is not a {kind.name}")
        elif isinstance(kind, graphql.GraphQLScalarType):
            if not scalar_conforms(kind.name, value):
                self.problems.append(f"{at}: {value!r} is not a {kind.name}")
        else:
            assert node.selection_set is not None, f"{at}: a composite field without selections"
            self.object(kind, value, node.selection_set, at)

    def _fields(
        self, selection_set: graphql.SelectionSetNode, runtime: graphql.GraphQLObjectType
    ) -> list[graphql.FieldNode]:
        """The fields selected on ``runtime``: its own, and those of fragments that apply."""
        found: list[graphql.FieldNode] = []
        for selection in selection_set.selections:
            if isinstance(selection, graphql.FieldNode):
                found.append(selection)
                continue
            if isinstance(selection, graphql.FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                assert isinstance(fragment, graphql.FragmentDefinitionNode)
                condition, inner = fragment.type_condition, fragment.selection_set
            else:
                assert isinstance(selection, graphql.InlineFragmentNode)
                condition, inner = selection.type_condition, selection.selection_set
            if condition is None or self._applies(condition.name.value, runtime):
                found.extend(self._fields(inner, runtime))
        return found

    def _applies(self, condition: str, runtime: graphql.GraphQLObjectType) -> bool:
        kind = self.schema.get_type(condition)
        if kind is runtime:
            return True
        return isinstance(kind, graphql.GraphQLInterfaceType | graphql.GraphQLUnionType) and (
            self.schema.is_sub_type(kind, runtime)
        )


def scalar_conforms(name: str, value: Any) -> bool:
    """Whether ``value`` is what the scalar ``name`` serialises to (unknown scalars pass)."""
    try:
        match name:
            case "Int":
                return type(value) is int and -(2**31) <= value < 2**31
            case "Float":
                return type(value) in (int, float)
            case "Boolean":
                return type(value) is bool
            case "String" | "ID":
                return type(value) is str
            case "Date":
                return type(value) is str and isinstance(date.fromisoformat(value), date)
            case "DateTime":
                return type(value) is str and isinstance(datetime.fromisoformat(value), datetime)
            case "Decimal":
                return type(value) is str and Decimal(value).is_finite()
            case _:
                return True
    except (ValueError, InvalidOperation):
        return False
