"""Every root field says who may call it on the field itself, and a token lacking exactly what a
field declares is refused at that field, through the real HTTP (and WebSocket) stack.

The fields are read from the built schema (``schema.scope_field.declared_fields``), not listed
here: a root field added tomorrow either declares its scope (and is then asked for below) or
joins ``UNDECLARED`` with the reason it checks its caller another way. For every declared root
field, an admin token (staff, every scope) with only the declared scope taken away asks for it;
for a staff-only field, a customer token holding the scope asks too. The refusal must be the
one the field's description states: null and FORBIDDEN at the field's path for a query, the
payload's FORBIDDEN userError (and nothing else) for a mutation, a FORBIDDEN ``error`` message
for a subscription. Relation fields are asked for role by role in ``test_scoped_fields.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from graphql import (
    GraphQLInputType,
    GraphQLObjectType,
    GraphQLOutputType,
    Undefined,
    get_named_type,
    is_enum_type,
    is_input_object_type,
    is_list_type,
    is_non_null_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter

from api.graphql_schema import schema as live_schema
from auth.scopes import ROLE_SCOPES
from core.identity import Role, Scope
from schema.lookup_field import LookupExtension
from schema.scope_field import Needs, declared_fields
from tests.api.conftest import signed_in
from tests.conftest import Server, customer_token, staff_token
from tests.support import World

ROOTS = ("Query", "Mutation", "Subscription")
LOOKUP = "a lookup: `lookup_field` declares its LOOKUPS rule (scope and roles), see POLICY.md"
UNDECLARED = {
    ("Query", "node"): "any type by its ID: each type's own scope is checked per ID "
    "(resolvers/node.py), and an object the caller may not read is NOT_FOUND",
    ("Query", "me"): "the customer's own record: customer tokens only, checked by kind",
    ("Query", "customerByPhone"): LOOKUP,
    ("Query", "customerByIdNumber"): LOOKUP,
    ("Query", "customersByName"): LOOKUP,
    ("Subscription", "complaintUpdated"): "reads through `complaint_scope`, which shows nothing "
    "without complaints:read: NOT_FOUND, as `complaint` answers an unknown ID",
}
# Literals for the scalars of required arguments: the field is refused before they are read.
SCALARS = {
    "ID": '"x"',
    "String": '"x"',
    "Int": "1",
    "Float": "1.0",
    "Boolean": "false",
    "Decimal": '"1"',
    "Date": '"2025-03-01"',
    "DateTime": '"2025-03-01T00:00:00+08:00"',
}


@dataclass(frozen=True)
class Case:
    type_name: str
    field_name: str
    needs: Needs
    caller: str  # "admin without the scope" or "customer" (a non-staff holder of the scope)

    @property
    def refusal(self) -> str:
        """What the refusal's message must name."""
        if self.caller == "customer":
            return "for staff users"
        return f"`{self.needs.scope}` scope"


def _root_fields() -> set[tuple[str, str]]:
    roots: set[tuple[str, str]] = set()
    for name in ROOTS:
        root = live_schema._schema.get_type(name)
        assert isinstance(root, GraphQLObjectType)
        roots |= {(name, field) for field in root.fields}
    return roots


def _declared_roots() -> list[tuple[str, str, Needs]]:
    return [
        (each.type_name, each.field_name, each.needs)
        for each in declared_fields(live_schema._schema)
        if each.type_name in ROOTS
    ]


def _cases() -> list[Case]:
    cases = []
    for type_name, field_name, needs in _declared_roots():
        if needs.scope is not None:
            cases.append(Case(type_name, field_name, needs, "admin without the scope"))
        if needs.staff_only and (needs.scope is None or needs.scope in ROLE_SCOPES[Role.CUSTOMER]):
            cases.append(Case(type_name, field_name, needs, "customer"))
    return cases


def _literal(type_: GraphQLInputType) -> str:
    """A value of ``type_`` that passes validation: required input fields only, lists empty."""
    if is_non_null_type(type_):
        return _literal(type_.of_type)  # type: ignore[union-attr]
    if is_list_type(type_):
        return "[]"
    named = get_named_type(type_)
    if is_input_object_type(named):
        inner = [
            f"{name}: {_literal(field.type)}"
            for name, field in named.fields.items()  # type: ignore[union-attr]
            if is_non_null_type(field.type) and field.default_value is Undefined
        ]
        return "{" + ", ".join(inner) + "}"
    if is_enum_type(named):
        return next(iter(named.values))  # type: ignore[union-attr]
    return SCALARS[named.name]


def _selection(type_: GraphQLOutputType) -> str:
    named = get_named_type(type_)
    if not isinstance(named, GraphQLObjectType):
        return ""
    return "{ userErrors { code message } }" if "userErrors" in named.fields else "{ __typename }"


def _document(case: Case) -> tuple[str, bool]:
    """The operation asking for the field alone, and whether the field is non-null."""
    root = live_schema._schema.get_type(case.type_name)
    assert isinstance(root, GraphQLObjectType)
    definition = root.fields[case.field_name]
    arguments = [
        f"{name}: {_literal(argument.type)}"
        for name, argument in definition.args.items()
        if is_non_null_type(argument.type) and argument.default_value is Undefined
    ]
    asked = case.field_name + (f"({', '.join(arguments)})" if arguments else "")
    operation = case.type_name.lower()
    return f"{operation} {{ {asked} {_selection(definition.type)} }}", is_non_null_type(
        definition.type
    )


def _token(server: Server, world: World, case: Case, *, full: bool = False) -> str:
    if case.caller == "customer":
        return customer_token(server, world.alice.id)
    scopes = frozenset(Scope) if full else frozenset(Scope) - {case.needs.scope}
    return staff_token(server, world, "demo-admin", scopes=scopes)  # type: ignore[arg-type]


def test_every_root_field_declares_what_it_needs_or_is_explained() -> None:
    declared = {(type_name, field) for type_name, field, _ in _declared_roots()}
    assert _root_fields() - declared == set(UNDECLARED)
    for type_name, field in UNDECLARED:
        if UNDECLARED[(type_name, field)] is LOOKUP:
            definition = live_schema._schema.get_type(type_name).fields[field]  # type: ignore[union-attr]
            strawberry_field = definition.extensions[GraphQLCoreConverter.DEFINITION_BACKREF]
            assert any(isinstance(e, LookupExtension) for e in strawberry_field.extensions)


def test_each_declared_scope_is_printed_once_in_its_fields_description() -> None:
    for each in declared_fields(live_schema._schema):
        kind = live_schema._schema.get_type(each.type_name)
        assert isinstance(kind, GraphQLObjectType)
        description = kind.fields[each.field_name].description or ""
        assert description.endswith(f"{each.needs.describe()}: {each.outcome}."), each
        if each.needs.scope is not None:
            assert description.count(f"`{each.needs.scope}`") == 1, description
        assert "(scope" not in description, description


@pytest.mark.parametrize(
    "case", _cases(), ids=lambda c: f"{c.type_name}.{c.field_name}-{c.caller.split()[0]}"
)
async def test_a_token_lacking_what_a_field_declares_is_refused_at_that_field(
    server: Server, world: World, case: Case
) -> None:
    document, non_null = _document(case)
    token = _token(server, world, case)

    if case.type_name == "Subscription":
        async with signed_in(server.base_url, token) as socket:
            await socket.subscribe("s", document)
            message = await socket.receive()
        assert (message["type"], message["id"]) == ("error", "s"), message
        assert [e["extensions"]["code"] for e in message["payload"]] == ["FORBIDDEN"]
        assert case.refusal in message["payload"][0]["message"], message
        return

    body = await server.graphql(document, token=token)

    if case.type_name == "Mutation":
        assert "errors" not in body, body
        errors = body["data"][case.field_name]["userErrors"]
        assert [e["code"] for e in errors] == ["FORBIDDEN"], body
        assert case.refusal in errors[0]["message"], body
        return
    assert body["data"] == (None if non_null else {case.field_name: None}), body
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
        ("FORBIDDEN", [case.field_name])
    ], body
    assert case.refusal in body["errors"][0]["message"], body
    if case.caller != "customer":  # the same admin with the scope is not refused for it
        granted = await server.graphql(document, token=_token(server, world, case, full=True))
        assert not any(case.refusal in e["message"] for e in granted.get("errors", [])), granted


def test_every_declared_root_field_is_asked_for() -> None:
    asked = {(case.type_name, case.field_name) for case in _cases()}
    assert asked == {(type_name, field) for type_name, field, _ in _declared_roots()}
    assert any(case.caller == "customer" for case in _cases())  # staff only, asked too
