"""The schema documents itself: GraphiQL's docs pane shows a description for every type,
field, argument, input field and enum value.

``graphql-schema-linter`` (pinned in tests/clients) checks the committed SDL with its
description rules; introspection of the live server must say what the SDL says, since
GraphiQL reads introspection, not the file.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
)

from api.cli.schema import SDL_PATH
from schema.enums import ENUM_DESCRIPTIONS
from schema.relay import After, Before, First, Last
from tests.conftest import CLIENTS, Server, staff_token
from tests.support import World

RULES = (
    "types-have-descriptions",
    "fields-have-descriptions",
    "input-object-values-have-descriptions",
    "enum-values-have-descriptions",
    "arguments-have-descriptions",
    "descriptions-are-capitalized",
)
LINTER = CLIENTS / "node_modules" / "graphql-schema-linter" / "lib" / "cli.js"
LINT_SECONDS = 120

ENUM_VALUES = """
query EnumValues($name: String!) {
  __type(name: $name) { description enumValues { name description } }
}
"""
FIELDS = """
query Fields($name: String!) {
  __type(name: $name) { description fields { name description } }
}
"""


def _committed_schema() -> GraphQLSchema:
    return build_schema(SDL_PATH.read_text(encoding="utf-8"))


def _lint_errors(node: str) -> list[dict[str, Any]]:
    run = subprocess.run(
        [node, str(LINTER), "--format", "json", "--rules", ",".join(RULES), str(SDL_PATH)],
        cwd=CLIENTS,
        capture_output=True,
        text=True,
        timeout=LINT_SECONDS,
        check=False,
    )
    try:
        errors: list[dict[str, Any]] = json.loads(run.stdout)["errors"]
    except (ValueError, KeyError) as exc:
        raise AssertionError(f"graphql-schema-linter failed: {run.stderr[-2000:]}") from exc
    return errors


def test_the_committed_sdl_passes_the_linters_description_rules(node: str) -> None:
    errors = _lint_errors(node)
    listed = "\n".join(
        f"schema.graphql:{error['location']['line']}: {error['message']} [{error['rule']}]"
        for error in errors
    )
    assert not errors, f"{len(errors)} description errors:\n{listed}"


async def test_introspection_describes_every_enum_value_as_the_sdl_does(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-admin")
    committed = _committed_schema()
    for enum in ENUM_DESCRIPTIONS:
        body = await server.graphql(ENUM_VALUES, {"name": enum.__name__}, token=token)
        live = body["data"]["__type"]
        printed = committed.get_type(enum.__name__)
        assert isinstance(printed, GraphQLEnumType), enum.__name__
        assert live["description"]
        assert live["description"] == printed.description
        described = {value["name"]: value["description"] for value in live["enumValues"]}
        assert all(described.values()), f"{enum.__name__} values without a description"
        assert described == {name: value.description for name, value in printed.values.items()}


async def test_error_codes_tell_a_client_whether_retrying_helps(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-admin")
    body = await server.graphql(ENUM_VALUES, {"name": "ErrorCode"}, token=token)
    described = {
        value["name"]: value["description"] for value in body["data"]["__type"]["enumValues"]
    }
    assert "retry" in described["SERVICE_UNAVAILABLE"]
    assert "will not help" in described["BAD_USER_INPUT"]


async def test_connection_types_describe_their_fields_as_the_sdl_does(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-admin")
    committed = _committed_schema()
    for name in ("PageInfo", "CustomerConnection", "CustomerEdge", "UserError", "Node"):
        body = await server.graphql(FIELDS, {"name": name}, token=token)
        live = body["data"]["__type"]
        printed = committed.get_type(name)
        assert isinstance(printed, GraphQLObjectType | GraphQLInterfaceType), name
        assert live["description"]
        assert live["description"] == printed.description
        described = {field["name"]: field["description"] for field in live["fields"]}
        assert all(described.values()), f"{name} fields without a description"
        assert described == {field: value.description for field, value in printed.fields.items()}


def test_the_shared_pagination_arguments_carry_one_description_each() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def page(
            self, first: First = None, after: After = None, last: Last = None, before: Before = None
        ) -> int:
            return 0

    printed = build_schema(strawberry.Schema(query=Query).as_str())
    assert printed.query_type is not None
    arguments = printed.query_type.fields["page"].args
    assert {name: bool(argument.description) for name, argument in arguments.items()} == {
        "first": True,
        "after": True,
        "last": True,
        "before": True,
    }
    assert "maximum page size" in str(arguments["first"].description)
