"""Who may call a root or relation field, declared on the field: a token scope, staff only.

A field that needs a scope (or a staff token) is declared with ``scoped_field(scope,
description)`` (``scoped_subscription`` for a subscription), as ``sensitive_field`` declares a
policy row, so no resolver checks it: ``ScopeExtension`` refuses the caller *before* the
resolver runs, and its ``apply`` (called while the schema is built) appends to the field's
description what it needs and what a caller without it gets. That depends on the field:

- a nullable field: null and FORBIDDEN at its path; the rest of the response arrives;
- a mutation whose payload carries ``userErrors``: the payload with one FORBIDDEN userError
  and nothing else (null objects, empty lists, zero counts), as when a service refused;
- a subscription: FORBIDDEN when it starts (the protocol's ``error`` message), no stream;
- any other non-null field: FORBIDDEN at its path, nulling its parent.

The compiled executor (``api.compiled``) reads ``ScopeExtension.needs`` and refuses the same
way. ``docs/POLICY.md`` lists every declaration, read from the built schema
(``declared_fields``), and ``tests/schema/test_declared_scopes.py`` holds every root field to
one, or to an explained exemption.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLObjectType, GraphQLSchema
from strawberry.extensions import FieldExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver, SyncExtensionResolver
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryOptional, get_object_definition
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType

from core.errors import Forbidden
from core.identity import Principal, Scope
from schema.common import refusable, refused


@dataclass(frozen=True)
class Needs:
    """What a caller needs to reach a field: a token scope, a staff token, or both."""

    scope: Scope | None
    staff_only: bool = False

    def check(self, principal: Principal) -> None:
        """FORBIDDEN unless ``principal`` has what the field needs (the scope first)."""
        if self.scope is not None:
            principal.require(self.scope)
        if self.staff_only:
            principal.require_staff()

    def admits(self, principal: Principal) -> bool:
        return (self.scope is None or self.scope in principal.scopes) and (
            not self.staff_only or principal.is_staff
        )

    def describe(self) -> str:
        """The first half of the description's sentence: "Needs scope `x`" and the like."""
        if self.scope is None:
            return "Needs a staff token; without one"
        if self.staff_only:
            return f"Needs a staff token with scope `{self.scope}`; without one"
        return f"Needs scope `{self.scope}`; without it"


Refuse = Callable[[Forbidden], Any]


class ScopeExtension(FieldExtension):
    """Refuses a caller who lacks ``needs`` before the resolver runs (see the module
    docstring for what the refusal is, per kind of field)."""

    def __init__(self, needs: Needs) -> None:
        self.needs = needs
        self.outcome = ""  # what a caller without it gets, as ``apply`` reads the field
        self._refuse: Refuse | None = None  # set by ``apply`` for a mutation payload
        self._described: str | None = None  # the description as declared, before ``apply``

    def apply(self, field: StrawberryField) -> None:
        """Reads the field's shape once the schema is built: how a caller is refused, and
        the sentence that says so (appended once, however often the schema is built)."""
        if self._described is None:
            self._described = field.description or ""
        self.outcome = self._outcome(field)
        sentence = f"{self.needs.describe()}: {self.outcome}."
        field.description = f"{self._described} {sentence}".lstrip()

    def _outcome(self, field: StrawberryField) -> str:
        if field.is_subscription:
            return "FORBIDDEN when subscribing, and no events"
        field_type = field.type
        if isinstance(field_type, StrawberryOptional):
            return "null and FORBIDDEN here"
        if isinstance(field_type, LazyType):  # a payload of another module, named lazily
            field_type = field_type.resolve_type()
        definition = get_object_definition(field_type)
        if definition is not None and any(
            f.python_name == "user_errors" for f in definition.fields
        ):
            self._refuse = _refusal(definition.origin)
            return "the payload's userErrors hold FORBIDDEN, and nothing is done"
        return "FORBIDDEN here, and null in place of the object that holds this field"

    @property
    def refuses_with_payload(self) -> bool:
        """Whether a caller without what the field needs gets a payload (a mutation's, with
        FORBIDDEN in its userErrors) rather than an error."""
        return self._refuse is not None

    def refused(self, principal: Principal) -> Any:
        """None when the caller may go on, else the refusal payload; raises FORBIDDEN for a
        field without one. The compiled executor refuses with it too."""
        try:
            self.needs.check(principal)
        except Forbidden as error:
            if self._refuse is None:
                raise
            return self._refuse(error)
        return None

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Any, **kwargs: Any) -> Any:
        refused = self.refused(info.context.principal)
        return next_(source, info, **kwargs) if refused is None else refused

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Any, **kwargs: Any
    ) -> Any:
        refused = self.refused(info.context.principal)
        return await next_(source, info, **kwargs) if refused is None else refused


def _refusal(payload: type) -> Refuse:
    """A payload of type ``payload`` saying FORBIDDEN, as each mutation's own refusal is."""
    refusable(payload)
    return partial(refused, payload)


def scoped_field(scope: Scope | None, description: str, *, staff_only: bool = False) -> Any:
    """``strawberry.field`` (or mutation) for a field that needs ``scope`` and, when
    ``staff_only``, a staff token; its description is ``description`` plus what it needs."""
    extension = ScopeExtension(Needs(scope, staff_only))
    return strawberry.field(description=description, extensions=[extension])


def scoped_subscription(scope: Scope, description: str, *, staff_only: bool = False) -> Any:
    """``strawberry.subscription`` for a subscription that needs ``scope`` (and staff)."""
    extension = ScopeExtension(Needs(scope, staff_only))
    return strawberry.subscription(description=description, extensions=[extension])


@dataclass(frozen=True)
class Declared:
    """One field's declaration, as ``docs/POLICY.md`` and the tests read it."""

    type_name: str
    field_name: str
    needs: Needs
    outcome: str  # what a caller without it gets, as the description states it


def declared_fields(schema: GraphQLSchema) -> Iterator[Declared]:
    """Every field of ``schema`` that declares what it needs, in the schema's type order."""
    for type_name, kind in schema.type_map.items():
        if not isinstance(kind, GraphQLObjectType) or type_name.startswith("__"):
            continue
        for name, definition in kind.fields.items():
            field = definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            for extension in getattr(field, "extensions", ()):
                if isinstance(extension, ScopeExtension):
                    yield Declared(type_name, name, extension.needs, extension.outcome)
