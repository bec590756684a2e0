"""The shape of a GraphQL document: how deep, how many aliases and directives, how often one
field is repeated, whether it introspects. ``api.admission.limits`` compares it with the settings.

Measured once per distinct document (``admit`` keeps it with the parsed document) and in
time linear in the document: each fragment is measured once and its shape reused wherever it
is spread. strawberry's ``QueryDepthLimiter`` and ``MaxAliasesLimiter`` walk a fragment again
at every spread, so forty nested fragments each spreading the next twice take 2⁴⁰ steps on
the event loop; that is why cardcrm measures the shape itself.

- depth: nested field levels (``{ a { b } }`` is 2); fragments add their own levels where
  they are spread. Levels inside ``__schema``/``__type`` count as ``introspection_depth``
  instead, which has its own limit: the standard introspection query is 15 levels deep. So
  do all levels of a fragment on an introspection type (``__Type``, ``__Field``, ...).
- aliases, directives: counted where they are used, a fragment's once per spread.
- repeats: the most times one field name (or one fragment) is selected in one selection set,
  inline fragments included, since graphql merges them into one response object.
A spread closing a cycle adds nothing (validation refuses cycles); every operation and every
fragment definition is measured, used or not, since validation reads them all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


@dataclass(frozen=True)
class Shape:
    depth: int = 0
    introspection_depth: int = 0
    aliases: int = 0
    directives: int = 0
    repeats: int = 0
    introspects: bool = False
    too_deep_to_measure: bool = False

    def beside(self, other: Shape) -> Shape:
        """The shape of two sibling selections."""
        return Shape(
            depth=max(self.depth, other.depth),
            introspection_depth=max(self.introspection_depth, other.introspection_depth),
            aliases=self.aliases + other.aliases,
            directives=self.directives + other.directives,
            repeats=max(self.repeats, other.repeats),
            introspects=self.introspects or other.introspects,
        )

    def widest(self, other: Shape) -> Shape:
        """The worst of two definitions, each of which is limited on its own."""
        return Shape(
            depth=max(self.depth, other.depth),
            introspection_depth=max(self.introspection_depth, other.introspection_depth),
            aliases=max(self.aliases, other.aliases),
            directives=max(self.directives, other.directives),
            repeats=max(self.repeats, other.repeats),
            introspects=self.introspects or other.introspects,
        )

    def with_directives(self, count: int) -> Shape:
        return replace(self, directives=self.directives + count) if count else self


def document_shape(document: DocumentNode) -> Shape:
    walk = _ShapeWalk(document)
    shape = Shape()
    try:
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                variables = definition.variable_definitions or ()
                own = len(definition.directives or ()) + sum(
                    len(variable.directives or ()) for variable in variables
                )
                measured = walk.selection_set(definition.selection_set, False)
                shape = shape.widest(measured.with_directives(own))
            elif isinstance(definition, FragmentDefinitionNode):
                # A fragment on an introspection type (__Type, __Field, ...) can only be
                # spread inside __schema/__type, so all its levels are introspection levels.
                on_meta = definition.type_condition.name.value.startswith("__")
                shape = shape.widest(walk.fragment(definition.name.value, on_meta))
    except RecursionError:
        return Shape(too_deep_to_measure=True)
    return shape


class _ShapeWalk:
    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.measured: dict[tuple[str, bool], Shape] = {}
        self.entered: set[tuple[str, bool]] = set()

    def selection_set(self, node: SelectionSetNode, introspecting: bool) -> Shape:
        repeats: Counter[str] = Counter()
        shape = self._selections(node, introspecting, repeats)
        return replace(shape, repeats=max(shape.repeats, max(repeats.values(), default=0)))

    def _selections(
        self, node: SelectionSetNode, introspecting: bool, repeats: Counter[str]
    ) -> Shape:
        shape = Shape()
        for selection in node.selections:
            directives = len(selection.directives or ())
            if isinstance(selection, FieldNode):
                repeats[selection.name.value] += 1
                part = self.field(selection, introspecting)
            elif isinstance(selection, FragmentSpreadNode):
                repeats["..." + selection.name.value] += 1
                part = self.fragment(selection.name.value, introspecting)
            elif isinstance(selection, InlineFragmentNode):
                part = self._selections(selection.selection_set, introspecting, repeats)
            else:  # pragma: no cover - graphql has no other selection
                continue
            shape = shape.beside(part.with_directives(directives))
        return shape

    def field(self, node: FieldNode, introspecting: bool) -> Shape:
        inside = introspecting or node.name.value in INTROSPECTION_ROOTS
        below = self.selection_set(node.selection_set, inside) if node.selection_set else Shape()
        if inside:
            levels = replace(below, introspection_depth=below.introspection_depth + 1)
        else:
            levels = replace(below, depth=below.depth + 1)
        own = Shape(aliases=1 if node.alias else 0, introspects=inside)
        return levels.beside(own)

    def fragment(self, name: str, introspecting: bool) -> Shape:
        key = (name, introspecting)
        if key in self.measured:
            return self.measured[key]
        definition = self.fragments.get(name)
        if definition is None or key in self.entered:
            return Shape()  # unknown or cyclic: validation reports both
        self.entered.add(key)
        shape = self.selection_set(definition.selection_set, introspecting).with_directives(
            len(definition.directives or ())
        )
        self.entered.discard(key)
        self.measured[key] = shape
        return shape
