"""The probes of the public GraphQL security scanners (graphql-cop, InQL, Escape), each
refused before any resolver runs (SPEC §4, "Abuse limits").

Every query below also selects ``tiers``, whose resolver reads the database: a refusal that
executed no SQL statement ran no resolver.
"""

from __future__ import annotations

import time

from tests.conftest import Server, staff_token
from tests.security.conftest import codes, nothing_ran
from tests.support import World

TIERS = "tiers { name }"
ALIAS_OVERLOADING = "{ " + " ".join(f"a{i}: __typename" for i in range(101)) + f" {TIERS} }}"
FIELD_DUPLICATION = "{ tiers { " + "name " * 500 + "} }"
DIRECTIVE_OVERLOADING = "{ tiers { name " + "@aa" * 100 + " } }"
CIRCULAR_FRAGMENTS = """
{ tiers { ...A } }
fragment A on Tier { name ...B }
fragment B on Tier { rank ...A }
"""
CIRCULAR_INTROSPECTION = (
    f"{{ {TIERS} __schema {{ types {{ fields {{ type {{ fields {{ type {{ fields {{ name }}"
    " } } } } } } }"
)
DEEP_OF_TYPE = (
    f'{{ {TIERS} __type(name: "Customer") {{ ' + "ofType { " * 20 + "name" + " }" * 20 + " } }"
)
FRAGMENT_BOMB = (
    f"{{ {TIERS} ...F0 }} "
    + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    + " fragment F40 on Query { t: tiers { name } }"
)
SUGGESTION_PROBE = "{ tiers { nam } }"
INTROSPECTION = "{ __schema { queryType { name } } tiers { name } }"
CREATE_CUSTOMER = (
    'mutation { createCustomer(input: {name: "probe", birthDate: "1990-01-01",'
    ' idNumber: "110101199001010015", phone: "13000000000"}) { customer { id } } }'
)


async def _probe(server: Server, world: World, query: str) -> set[str]:
    token = staff_token(server, world, "demo-admin")  # the admin role is not exempt
    async with nothing_ran(server):
        response = await server.post(query, token=token)
    assert response.status_code == 200, response.text
    return codes(response.json())


async def test_alias_overloading_with_101_aliases_is_refused(server: Server, world: World) -> None:
    assert await _probe(server, world, ALIAS_OVERLOADING) == {"QUERY_TOO_COMPLEX"}


async def test_field_duplication_with_500_repeats_is_refused(server: Server, world: World) -> None:
    assert await _probe(server, world, FIELD_DUPLICATION) == {"QUERY_TOO_COMPLEX"}


async def test_directive_overloading_is_refused(server: Server, world: World) -> None:
    assert await _probe(server, world, DIRECTIVE_OVERLOADING) == {"QUERY_TOO_COMPLEX"}


async def test_circular_fragments_are_refused(server: Server, world: World) -> None:
    assert await _probe(server, world, CIRCULAR_FRAGMENTS) == {"GRAPHQL_VALIDATION_FAILED"}


async def test_circular_introspection_is_refused_even_where_introspection_is_on(
    server: Server, world: World
) -> None:
    assert await _probe(server, world, CIRCULAR_INTROSPECTION) == {"QUERY_TOO_COMPLEX"}
    assert await _probe(server, world, DEEP_OF_TYPE) == {"QUERY_TOO_COMPLEX"}


async def test_a_fragment_bomb_is_measured_at_once_and_refused(
    server: Server, world: World
) -> None:
    started = time.perf_counter()
    assert await _probe(server, world, FRAGMENT_BOMB) == {"QUERY_TOO_COMPLEX"}
    assert time.perf_counter() - started < 2  # 2⁴⁰ spreads, each fragment measured once


async def test_a_batch_of_11_operations_is_refused(server: Server, world: World) -> None:
    batch = [{"query": "{ tiers { name } }"}] * 11
    token = staff_token(server, world, "demo-admin")
    async with nothing_ran(server):
        response = await server.client.post(
            "/graphql", json=batch, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 400
    assert codes(response.json()) == {"BAD_USER_INPUT"}


async def test_a_mutation_sent_by_get_is_refused_and_changes_nothing(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-admin")
    async with nothing_ran(server):
        response = await server.client.get(
            "/graphql",
            params={"query": CREATE_CUSTOMER},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 405  # GraphQL over HTTP: a mutation by GET MUST be 405
    assert response.headers["allow"] == "POST"
    assert codes(response.json()) == {"BAD_USER_INPUT"}


async def test_a_form_encoded_post_is_refused_as_an_unsupported_media_type(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-admin")
    async with nothing_ran(server):
        response = await server.client.post(
            "/graphql",
            data={"query": "{ tiers { name } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 415
    assert codes(response.json()) == {"BAD_USER_INPUT"}


async def test_suggestion_probing_learns_nothing_in_production(
    server: Server, production: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    development = (await server.graphql(SUGGESTION_PROBE, token=token))["errors"][0]
    async with nothing_ran(production):
        body = await production.graphql(SUGGESTION_PROBE, token=token)
    assert "Did you mean 'name'?" in development["message"]
    assert codes(body) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "Did you mean" not in body["errors"][0]["message"]
    assert "Cannot query field 'nam'" in body["errors"][0]["message"]


async def test_introspection_is_refused_in_production_and_answered_in_development(
    server: Server, production: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-admin")
    allowed = await server.graphql(INTROSPECTION, token=token)
    async with nothing_ran(production):
        body = await production.graphql(INTROSPECTION, token=token)
    assert allowed["data"]["__schema"]["queryType"]["name"] == "Query"
    assert codes(body) == {"FORBIDDEN"}
