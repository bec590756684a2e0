"""A marketer's customer list must not undo analytics' small-group suppression (issue 11
item 10). The rule chosen: a list of customers needs ``customers:list``, which marketers do
not hold; they get counts (suppressed below ``CARDCRM_STATS_MIN_GROUP_SIZE``), never people.
"""

from __future__ import annotations

from datetime import timedelta

from auth.scopes import ROLE_SCOPES
from core.identity import Role, Scope
from models.columns import utcnow
from tests.conftest import Server, staff_token
from tests.support import DEMO_STAFF, World, add_customer

SINCE = """
query Since($from: DateTime!) {
  customers(first: 50, filter: {createdFrom: $from}) { totalCount edges { node { id name } } }
}
"""


async def test_given_a_group_of_one_then_a_marketer_cannot_list_it(
    server: Server, world: World
) -> None:
    # given: one customer created just now, a group far below the minimum group size
    since = utcnow() - timedelta(seconds=1)
    await add_customer(server.state, world, branch="SH-PD")
    variables = {"from": since.isoformat()}

    # when a marketer asks for the customers created since
    body = await server.graphql(
        SINCE, variables, token=staff_token(server, world, DEMO_STAFF["marketer"])
    )

    # then: no list, not even its count
    assert body["data"] == {"customers": None}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "customers:list" in error["message"]
    # while the roles that serve or oversee customers still list them
    for role in ("admin", "auditor", "risk_officer"):
        listed = await server.graphql(
            SINCE, variables, token=staff_token(server, world, DEMO_STAFF[role])
        )
        assert "errors" not in listed, listed
        assert listed["data"]["customers"]["totalCount"] >= 1


def test_the_marketer_is_the_one_staff_role_without_a_customer_list() -> None:
    without = {role for role in Role if Scope.CUSTOMERS_LIST not in ROLE_SCOPES[role]}
    assert without == {Role.MARKETER, Role.MERCHANT, Role.SERVICE}
