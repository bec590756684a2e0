"""A query compiled once into plain Python steps, so a request skips graphql-core's per-field
machinery (resolve-info objects, type dispatch, awaitable checks: about 5 µs a field, most
of a page of 50 customers with their cards).

The plan is read off the validated document and the strawberry schema. For each selected
field it holds the step that produces the field's value, either an attribute read or the
field's own resolver called as strawberry calls it, and how to complete that value: serialize
a leaf, walk a list, build an object. It holds nothing of a request or a caller, so one plan
serves everyone: access and masks are decided per request (``api.compiled.execute``) by the
same functions the policy field extension uses.

Only what the plan reproduces exactly is compiled: queries over concrete object types, and
mutations of one root field (``api.compiled.mutation`` runs those, never twice), no
directives, no introspection beyond ``__typename``, no field extension but the policy and the
scope ones.
Anything else raises ``NotCompilable`` and the standard executor answers it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Protocol

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.field import StrawberryField

from auth.policy import FieldRule
from schema.policy_field import PolicyExtension
from schema.scope_field import Needs, ScopeExtension


class Run(Protocol):
    """What a step calls back on while it runs: one request's run of the plan. It is written
    here, not imported from ``api.compiled.execute`` (its one implementation), so the plan
    does not depend on the module that runs it."""

    def object(self, plan: ObjectPlan, source: Any) -> dict[str, Any]:
        """``plan``'s fields of ``source``, completed or waiting in the current wave."""
        ...

    def arguments(self, step: FieldStep) -> dict[str, Any]:
        """The step's arguments as its resolver takes them."""
        ...

    def info(self, field_name: str) -> Any:
        """What the step's resolver gets as ``info``."""
        ...


Complete = Callable[[Any, Run], Any]
Produce = Callable[[Any, Run, "FieldStep"], Any]


class NotCompilable(Exception):
    """The operation uses something the plan does not reproduce; the standard executor runs it."""


class Fallback(Exception):
    """This request's run of a plan met an error or a null where the schema forbids one: the
    standard executor answers the request instead, with its errors at their paths."""


@dataclass(eq=False)
class FieldStep:
    """One selected field: how to produce its value and how to complete it."""

    key: str  # the response key: the alias, else the field's name
    field_name: str
    produce: Produce
    complete: Complete
    rule: FieldRule | None  # the policy rule of a sensitive field
    is_async: bool
    arguments: StepArguments | None = None  # set when the field takes arguments
    needs: Needs | None = None  # what a scope-declared field needs of the caller
    # a mutation's: the payload (FORBIDDEN in its userErrors) a caller without ``needs`` gets
    refusal: Callable[[Any], Any] | None = None
    inner: ObjectPlan | None = None  # the plan of the object (or objects) the field holds


@dataclass(frozen=True)
class StepArguments:
    """Where a field's arguments come from: its definition (defaults), its node (literals and
    variables) and the strawberry arguments its resolver takes."""

    definition: GraphQLField
    node: FieldNode
    strawberry_arguments: list[StrawberryArgument]


@dataclass(frozen=True)
class ObjectPlan:
    type_name: str
    steps: tuple[FieldStep, ...]


@dataclass(frozen=True)
class OperationPlan:
    document: DocumentNode
    operation: OperationDefinitionNode
    root: ObjectPlan

    @property
    def is_mutation(self) -> bool:
        return self.operation.operation is OperationType.MUTATION

    @property
    def name(self) -> str | None:
        return self.operation.name.value if self.operation.name else None


def compile_operation(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> OperationPlan:
    """The plan of a validated query, or of a mutation of one root field; ``NotCompilable``
    if it needs the standard executor."""
    root_types = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
    }
    root_type = root_types.get(operation.operation)
    if root_type is None:
        raise NotCompilable("only queries and mutations are compiled")
    if operation.directives:
        raise NotCompilable("directives")
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    root = _Compiler(schema, fragments).object_plan(root_type, [operation.selection_set])
    if operation.operation is OperationType.MUTATION and (
        len(root.steps) != 1 or root.steps[0].field_name == "__typename"
    ):
        raise NotCompilable("a mutation of more than one root field (run one after another)")
    return OperationPlan(document, operation, root)


class _Compiler:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]):
        self.schema = schema
        self.fragments = fragments

    def object_plan(
        self, type_: GraphQLObjectType, selection_sets: Sequence[SelectionSetNode]
    ) -> ObjectPlan:
        grouped = self.collect(type_, selection_sets)
        steps = tuple(self._step(type_, key, nodes) for key, nodes in grouped.items())
        return ObjectPlan(type_.name, steps)

    def collect(
        self, type_: GraphQLObjectType, selection_sets: Sequence[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        """The fields ``selection_sets`` select on ``type_``, grouped by response key."""
        grouped: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for selection_set in selection_sets:
            self._collect(type_, selection_set, grouped, visited)
        return grouped

    def _collect(
        self,
        type_: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        """graphql's CollectFields for a known object type, without directives."""
        for selection in selection_set.selections:
            if selection.directives:
                raise NotCompilable("directives")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if self._applies(condition.name.value if condition else None, type_):
                    self._collect(type_, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments[name]
                if fragment.directives or fragment.variable_definitions:
                    raise NotCompilable("fragment directives or variables")
                if self._applies(fragment.type_condition.name.value, type_):
                    self._collect(type_, fragment.selection_set, grouped, visited)

    def _applies(self, condition: str | None, type_: GraphQLObjectType) -> bool:
        if condition is None or condition == type_.name:
            return True
        conditional = self.schema.get_type(condition)
        return is_abstract_type(conditional) and self.schema.is_sub_type(conditional, type_)  # type: ignore[arg-type]

    def _step(self, parent: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> FieldStep:
        name = nodes[0].name.value
        if name == "__typename":
            type_name = parent.name
            return FieldStep(key, name, lambda *_: type_name, _identity, None, False)
        if name.startswith("__"):
            raise NotCompilable("introspection")
        definition = parent.fields[name]
        field = definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(field, StrawberryField):
            raise NotCompilable(f"{parent.name}.{name} is not a strawberry field")
        rule, needs = declarations(field)
        if rule is not None and field.is_async:
            raise NotCompilable("an asynchronous sensitive field")
        named = get_named_type(definition.type)
        inner = None
        if is_object_type(named):
            selections = [node.selection_set for node in nodes if node.selection_set]
            inner = self.object_plan(named, selections)  # type: ignore[arg-type]
        step = FieldStep(
            key,
            name,
            _producer(field),
            self._completer(definition.type, inner),
            rule,
            field.is_async,
            needs=needs,
            refusal=payload_refusal(field),
            inner=inner,
        )
        if field.arguments:
            step.arguments = StepArguments(definition, nodes[0], field.arguments)
        return step

    def _completer(self, type_: GraphQLOutputType, inner: ObjectPlan | None) -> Complete:
        if is_non_null_type(type_):
            return _non_null(self._completer(type_.of_type, inner))  # type: ignore[union-attr]
        if is_list_type(type_):
            return _list_of(self._completer(type_.of_type, inner))  # type: ignore[union-attr]
        if is_leaf_type(type_):
            return _leaf(type_.serialize)  # type: ignore[union-attr]
        if inner is not None:
            return _object_of(inner)
        raise NotCompilable(f"abstract type {type_}")


def declarations(field: StrawberryField) -> tuple[FieldRule | None, Needs | None]:
    """The policy rule and the scope (or staff token) declared on the field (its only
    extensions, if any)."""
    rule, needs = None, None
    for extension in field.extensions:
        if isinstance(extension, PolicyExtension):
            rule = extension.rule
        elif isinstance(extension, ScopeExtension):
            needs = extension.needs
        else:
            raise NotCompilable(f"field extension {type(extension).__name__}")
    return rule, needs


def payload_refusal(field: StrawberryField) -> Callable[[Any], Any] | None:
    """A mutation's refusal payload for a caller without what it needs (its scope field
    extension's), or None where a refusal is an error."""
    for extension in field.extensions:
        if isinstance(extension, ScopeExtension) and extension.refuses_with_payload:
            return extension.refused
    return None


def collect_fields(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    type_: GraphQLObjectType,
    selection_sets: Sequence[SelectionSetNode],
) -> dict[str, list[FieldNode]]:
    """The fields ``selection_sets`` select on ``type_``, grouped by response key in order
    (graphql's CollectFields, without directives: ``NotCompilable`` if one is used)."""
    return _Compiler(schema, fragments).collect(type_, selection_sets)


def _producer(field: StrawberryField) -> Produce:
    """The field's value as strawberry would produce it: its resolver, called with the
    parameters it declares (self, info, parent/root, arguments), else the attribute."""
    resolver = field.base_resolver
    if resolver is None:
        read = attrgetter(field.python_name)
        return lambda source, run, step: read(source)
    function = resolver.wrapped_func
    if not callable(function):  # a bare classmethod: strawberry refuses it when called
        raise NotCompilable(f"the resolver of {field.python_name} is not callable")
    passes_self = resolver.self_parameter is not None
    info_name = resolver.info_parameter.name if resolver.info_parameter else None
    source_names = [
        parameter.name
        for parameter in (resolver.parent_parameter, resolver.root_parameter)
        if parameter is not None
    ]
    takes_arguments = bool(field.arguments)

    def produce(source: Any, run: Run, step: FieldStep) -> Any:
        kwargs = dict(run.arguments(step)) if takes_arguments else {}
        if info_name is not None:
            kwargs[info_name] = run.info(step.field_name)
        for name in source_names:
            kwargs[name] = source
        return function(source, **kwargs) if passes_self else function(**kwargs)

    return produce


def _identity(value: Any, run: Run) -> Any:
    return value


def _non_null(inner: Complete) -> Complete:
    def complete(value: Any, run: Run) -> Any:
        if value is None:
            raise Fallback("null for a non-null field")
        return inner(value, run)

    return complete


def _list_of(item: Complete) -> Complete:
    def complete(value: Any, run: Run) -> Any:
        if value is None:
            return None
        if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
            raise Fallback("a list field resolved to a non-list")
        return [item(each, run) for each in value]

    return complete


def _leaf(serialize: Callable[[Any], Any]) -> Complete:
    def complete(value: Any, run: Run) -> Any:
        if value is None:
            return None
        serialized = serialize(value)
        if serialized is None or serialized is Undefined:
            raise Fallback("a leaf serialized to nothing")
        return serialized

    return complete


def _object_of(plan: ObjectPlan) -> Complete:
    def complete(value: Any, run: Run) -> Any:
        return None if value is None else run.object(plan, value)

    return complete
