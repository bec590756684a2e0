"""From an empty database to a first customer, as a bank goes live (README "Production"):
``cardcrm db upgrade``, ``cardcrm init``, the admin's first sign-in (made to change the
one-time password), a branch, a tier catalogue and an agent made through GraphQL, and the
agent's first sign-in and first customer, read back masked. On PostgreSQL with
``CARDCRM_TEST_DATABASE=postgresql``, on SQLite otherwise."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import httpx
import pytest

from tests.api.conftest import serving
from tests.models.conftest import MakeDatabase
from tests.security.conftest import variant

pytestmark = pytest.mark.slow

ONE_TIME = re.compile(r"^one-time password:\s+(\S+)$", re.MULTILINE)
ADMIN_PASSWORD = "Bank-admin-2026-first"
AGENT_PASSWORD = "Agent-desk-2026-first"


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


async def _graphql(client: httpx.AsyncClient, token: str, query: str, **variables: Any) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def _first_sign_in(
    client: httpx.AsyncClient, username: str, one_time: str, chosen: str
) -> str:
    """The one-time password is refused for tokens, replaced, then the new one signs in."""
    refused = await client.post("/auth/login", json={"username": username, "password": one_time})
    assert refused.status_code == 403, refused.text
    assert refused.json()["errors"][0]["extensions"]["code"] == "PASSWORD_CHANGE_REQUIRED"
    assert "access_token" not in refused.text
    weak = await client.post(
        "/auth/password",
        json={"username": username, "password": one_time, "new_password": "short1"},
    )
    assert weak.status_code == 400, weak.text
    assert weak.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    changed = await client.post(
        "/auth/password",
        json={"username": username, "password": one_time, "new_password": chosen},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["access_token"]
    old = await client.post("/auth/login", json={"username": username, "password": one_time})
    assert old.status_code == 401
    signed_in = await client.post("/auth/login", json={"username": username, "password": chosen})
    assert signed_in.status_code == 200, signed_in.text
    return str(signed_in.json()["access_token"])


CREATE_BRANCH = """
mutation($input: CreateBranchInput!) {
  createBranch(input: $input) { branch { id code version } userErrors { code field } }
}"""
CREATE_TIER = """
mutation($input: CreateTierInput!) {
  createTier(input: $input) {
    tier { id code version terms { effectiveFrom minAnnualSpend minTransactions } }
    userErrors { code field message }
  }
}"""
CREATE_STAFF = """
mutation($input: CreateStaffUserInput!) {
  createStaffUser(input: $input) {
    account { id username role mustChangePassword branch { code } }
    oneTimePassword
    userErrors { code field message }
  }
}"""
CREATE_CUSTOMER = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    customer { id name phone tier { code } branch { code } }
    userErrors { code field message }
  }
}"""
READ_CUSTOMER = "query($id: ID!) { node(id: $id) { ... on Customer { name phone idNumber } } }"
TIERS = [("STANDARD", "普卡 Standard", 0, "0", 0), ("GOLD", "金卡 Gold", 20, "50000", 40)]


async def test_an_empty_database_reaches_a_first_customer(make_database: MakeDatabase) -> None:
    fresh = make_database(migrated=False)
    _ok(await fresh.run_cli("db", "upgrade"))
    printed = _ok(await fresh.run_cli("init"))
    one_time = ONE_TIME.findall(printed)
    assert len(one_time) == 1
    assert "username:           admin" in printed
    again = await fresh.run_cli("init", "--username", "second")
    assert again.returncode == 1
    assert "staff accounts exist already" in again.stderr

    # The rate limits in this process, not in a Redis other test runs share: sign-ins from
    # 127.0.0.1 elsewhere would drain the same bucket.
    async with (
        serving(variant(fresh.settings, redis_url=None)) as (base_url, _),
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
    ):
        admin = await _first_sign_in(client, "admin", one_time[0], ADMIN_PASSWORD)

        branch = (
            await _graphql(
                client, admin, CREATE_BRANCH, input={"code": "sh-pd", "name": "浦东支行"}
            )
        )["createBranch"]
        assert branch["userErrors"] == []
        assert branch["branch"]["code"] == "SH-PD"
        for code, name, rank, spend, count in TIERS:
            tier = (
                await _graphql(
                    client,
                    admin,
                    CREATE_TIER,
                    input={
                        "code": code,
                        "name": name,
                        "rank": rank,
                        "minAnnualSpend": spend,
                        "minTransactions": count,
                    },
                )
            )["createTier"]
            assert tier["userErrors"] == []
            assert tier["tier"]["version"] == 1
            assert [t["minTransactions"] for t in tier["tier"]["terms"]] == [count]

        created = (
            await _graphql(
                client,
                admin,
                CREATE_STAFF,
                input={
                    "username": "li.agent",
                    "displayName": "李客服",
                    "role": "AGENT",
                    "branchId": branch["branch"]["id"],
                },
            )
        )["createStaffUser"]
        assert created["userErrors"] == []
        assert created["account"]["mustChangePassword"] is True
        assert created["account"]["branch"] == {"code": "SH-PD"}
        agent = await _first_sign_in(client, "li.agent", created["oneTimePassword"], AGENT_PASSWORD)

        customer = (
            await _graphql(
                client,
                agent,
                CREATE_CUSTOMER,
                input={
                    "name": "王五",
                    "birthDate": "1992-05-20",
                    "idNumber": "110105199205200019",
                    "phone": "13700001111",
                    "cards": [
                        {
                            "pan": "6228480000000007",
                            "product": "UnionPay Classic",
                            "creditLimit": "30000.00",
                        }
                    ],
                },
            )
        )["createCustomer"]
        assert customer["userErrors"] == []
        assert customer["customer"]["tier"] == {"code": "STANDARD"}
        assert customer["customer"]["branch"] == {"code": "SH-PD"}
        read = (await _graphql(client, agent, READ_CUSTOMER, id=customer["customer"]["id"]))["node"]
    assert read["name"] != "王五"
    assert "*" in read["name"]
    assert read["phone"] != "13700001111"
    assert "*" in read["phone"]
    assert "110105199205200019" not in str(read)
