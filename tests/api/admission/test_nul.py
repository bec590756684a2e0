"""A NUL (U+0000) in any string of an operation is BAD_USER_INPUT before anything runs
(``api.admission.nul``). On PostgreSQL a NUL reaching a text parameter failed in the driver: the
schemathesis run (tests/security/test_schemathesis.py) found the audit-log filters answering
INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

from graphql import parse

from api.admission.nul import nul_errors
from tests.conftest import Server, staff_token
from tests.security.conftest import codes, nothing_ran
from tests.support import World

AUDIT_BY_ACTION = "query Audit($action: String) { auditLog(first: 1, filter: {action: $action}) { edges { node { id } } } }"
AUDIT_BY_LITERAL = '{ auditLog(first: 1, filter: {action: "x\\u0000"}) { edges { node { id } } } }'


async def test_a_nul_in_a_literal_or_a_variable_is_refused_before_any_resolver(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-admin")
    async with nothing_ran(server):
        literal = await server.post(AUDIT_BY_LITERAL, token=token)
        variable = await server.post(AUDIT_BY_ACTION, {"action": "a\x00b"}, token=token)
    assert codes(literal.json()) == codes(variable.json()) == {"BAD_USER_INPUT"}
    assert "$action" in variable.json()["errors"][0]["message"]
    assert literal.json()["errors"][0]["locations"] == [{"line": 1, "column": 39}]


async def test_the_same_filter_without_nul_runs(server: Server, world: World) -> None:
    token = staff_token(server, world, "demo-admin")
    body = await server.graphql(AUDIT_BY_ACTION, {"action": "a b"}, token=token)
    assert body == {"data": {"auditLog": {"edges": []}}}


def test_nul_is_found_however_deep_a_variable_nests_it() -> None:
    nested: object = "\x00"
    for depth in range(5000):
        nested = [nested] if depth % 2 else {"k": nested}
    document = parse("query Q($v: String) { tiers { name } }")
    assert [error.message for error in nul_errors(document, {"v": nested, "w": "clean"})] == [
        "Variable `$v` holds NUL: strings may not contain the NUL character (U+0000); remove it."
    ]
    assert nul_errors(document, {"w": ["clean", {"k": 1}]}) == []
