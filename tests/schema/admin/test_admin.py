"""The administration fields through the shared server: admins change branches, staff
accounts, tiers and merchants (audited, versioned); supervisors list their branch's accounts;
every other caller is refused."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from auth import clients
from core.errors import BadUserInput
from core.identity import Scope
from models.audit.audit import AuditEntry
from models.merchants.merchant import OAuthClient
from schema.relay import from_global_id, to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.support import DEMO_STAFF, World

CREATE_BRANCH = """
mutation($input: CreateBranchInput!) {
  createBranch(input: $input) { branch { id code name version } userErrors { code field } }
}"""
RENAME_BRANCH = """
mutation($input: RenameBranchInput!) {
  renameBranch(input: $input) { branch { name version } userErrors { code field } }
}"""
ACCOUNT = "account { id username role isActive mustChangePassword version branch { code } }"
CREATE_STAFF = f"""
mutation($input: CreateStaffUserInput!) {{
  createStaffUser(input: $input) {{ {ACCOUNT} oneTimePassword userErrors {{ code field }} }}
}}"""
STAFF_CHANGE = """
mutation($input: %s!) {
  %s(input: $input) { %s oneTimePassword userErrors { code field } }
}"""
ACCOUNTS = """
query {
  staffAccounts(first: 100) {
    totalCount edges { node { username mustChangePassword lockedUntil branch { code } } }
  }
}
"""


def _change(name: str, input_type: str = "StaffAccountInput") -> str:
    return STAFF_CHANGE % (input_type, name, ACCOUNT)


async def _data(server: Server, query: str, token: str, **variables: Any) -> Any:
    body = await server.graphql(query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


async def _new_branch(server: Server, admin: str) -> dict[str, Any]:
    code = f"T-{uuid.uuid4().hex[:8]}"
    made = await _data(server, CREATE_BRANCH, admin, input={"code": code, "name": "测试支行"})
    assert made["createBranch"]["userErrors"] == []
    return dict(made["createBranch"]["branch"])


async def _login(server: Server, username: str, password: str) -> int:
    response = await server.client.post(
        "/auth/login", json={"username": username, "password": password}
    )
    return response.status_code


@pytest.mark.parametrize("role", ["supervisor", "agent", "marketer", "risk_officer", "auditor"])
async def test_only_admins_change_the_administration(
    server: Server, world: World, role: str
) -> None:
    token = staff_token(server, world, DEMO_STAFF[role])
    body = await server.graphql(
        CREATE_BRANCH, {"input": {"code": f"X-{uuid.uuid4().hex[:6]}", "name": "x"}}, token=token
    )
    payload = (body.get("data") or {}).get("createBranch")
    codes = {e["extensions"]["code"] for e in body.get("errors", [])} | {
        e["code"] for e in (payload or {}).get("userErrors", [])
    }
    assert codes == {"FORBIDDEN"}
    assert not (payload or {}).get("branch")


async def test_customers_and_merchants_are_refused_every_admin_read(
    server: Server, world: World
) -> None:
    for token in (customer_token(server, world.alice.id), staff_token(server, world, "demo-agent")):
        body = await server.graphql(
            "query { branches { code } tierCatalogue { code } }", token=token
        )
        assert body["data"] is None or body["data"]["tierCatalogue"] is None
        assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}


async def test_staff_accounts_admins_see_every_branch_and_supervisors_their_own(
    server: Server, world: World
) -> None:
    admin = staff_token(server, world, "demo-admin")
    supervisor = staff_token(server, world, "demo-supervisor")
    everyone = await _data(server, ACCOUNTS, admin)
    own = await _data(server, ACCOUNTS, supervisor)
    agent = await server.graphql(ACCOUNTS, token=staff_token(server, world, "demo-agent"))

    names = {edge["node"]["username"] for edge in everyone["staffAccounts"]["edges"]}
    assert {"demo-admin", "demo-agent", "demo-agent-b", "demo-auditor"} <= names
    branches = {edge["node"]["branch"]["code"] for edge in own["staffAccounts"]["edges"]}
    assert branches == {world.branches["BJ-CY"].code}
    assert all(
        edge["node"]["mustChangePassword"] is False for edge in own["staffAccounts"]["edges"]
    )
    assert agent["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_account_is_created_changed_disabled_and_reset_with_versions_and_audit(
    server: Server, world: World
) -> None:
    admin = staff_token(server, world, "demo-admin")
    branch = await _new_branch(server, admin)
    username = f"t.{uuid.uuid4().hex[:8]}"
    made = (
        await _data(
            server,
            CREATE_STAFF,
            admin,
            input={
                "username": username,
                "displayName": "测试",
                "role": "AGENT",
                "branchId": branch["id"],
            },
        )
    )["createStaffUser"]
    account, password = made["account"], made["oneTimePassword"]
    assert (account["mustChangePassword"], account["version"]) == (True, 1)
    no_branch = await _data(
        server,
        CREATE_STAFF,
        admin,
        input={"username": f"{username}x", "displayName": "x", "role": "SUPERVISOR"},
    )
    assert no_branch["createStaffUser"]["userErrors"] == [
        {"code": "BAD_USER_INPUT", "field": "branchId"}
    ]
    taken = await _data(
        server,
        CREATE_STAFF,
        admin,
        input={"username": username, "displayName": "x", "role": "AUDITOR"},
    )
    assert taken["createStaffUser"]["userErrors"][0]["code"] == "CONFLICT"

    staff_id = account["id"]
    promoted = (
        await _data(
            server,
            _change("setStaffRole", "SetStaffRoleInput"),
            admin,
            input={"staffId": staff_id, "version": 1, "role": "SUPERVISOR"},
        )
    )["setStaffRole"]
    assert (promoted["account"]["role"], promoted["account"]["version"]) == ("SUPERVISOR", 2)
    stale = await _data(
        server, _change("disableStaffUser"), admin, input={"staffId": staff_id, "version": 1}
    )
    assert stale["disableStaffUser"]["userErrors"] == [{"code": "CONFLICT", "field": "version"}]
    disabled = await _data(
        server, _change("disableStaffUser"), admin, input={"staffId": staff_id, "version": 2}
    )
    assert disabled["disableStaffUser"]["account"]["isActive"] is False
    assert await _login(server, username, password) == 401
    await _data(
        server, _change("enableStaffUser"), admin, input={"staffId": staff_id, "version": 3}
    )
    assert await _login(server, username, password) == 403  # one-time: change it first
    reset = (
        await _data(
            server, _change("resetStaffPassword"), admin, input={"staffId": staff_id, "version": 4}
        )
    )["resetStaffPassword"]
    assert reset["oneTimePassword"] not in (None, password)
    assert await _login(server, username, password) == 401
    assert await _login(server, username, reset["oneTimePassword"]) == 403
    unlocked = await _data(
        server, _change("unlockStaffUser"), admin, input={"staffId": staff_id, "version": 5}
    )
    assert unlocked["unlockStaffUser"]["account"]["version"] == 6

    async with server.state.database.session() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.target_type == "StaffMember")
                .where(AuditEntry.target_id == str(uuid.UUID(_raw(staff_id))))
                .order_by(AuditEntry.seq)
            )
        )
    assert actions == [
        "staff.create",
        "staff.set_role",
        "staff.disable",
        "staff.enable",
        "staff.reset_password",
        "staff.unlock",
    ]
    assert password not in str(actions)


def _raw(global_id: str) -> str:
    return from_global_id(global_id)[1]


async def test_a_branch_is_renamed_at_its_version(server: Server, world: World) -> None:
    admin = staff_token(server, world, "demo-admin")
    branch = await _new_branch(server, admin)
    renamed = await _data(
        server, RENAME_BRANCH, admin, input={"branchId": branch["id"], "version": 1, "name": "新名"}
    )
    stale = await _data(
        server, RENAME_BRANCH, admin, input={"branchId": branch["id"], "version": 1, "name": "旧"}
    )
    assert renamed["renameBranch"]["branch"] == {"name": "新名", "version": 2}
    assert stale["renameBranch"]["userErrors"] == [{"code": "CONFLICT", "field": "version"}]
    taken = await _data(
        server, CREATE_BRANCH, admin, input={"code": branch["code"], "name": "again"}
    )
    assert taken["createBranch"]["userErrors"] == [{"code": "CONFLICT", "field": "code"}]


REVISE = """
mutation($input: ReviseTierInput!) {
  reviseTier(input: $input) {
    tier { version terms { effectiveFrom minAnnualSpend minTransactions } }
    userErrors { code field }
  }
}"""


async def test_a_tier_edit_is_a_new_version_from_a_day_and_the_past_stays(
    server: Server, world: World
) -> None:
    admin = staff_token(server, world, "demo-admin")
    catalogue = (await _data(server, "query { tierCatalogue { id code version } }", admin))[
        "tierCatalogue"
    ]
    diamond = next(tier for tier in catalogue if tier["code"] == "DIAMOND")
    again = await server.graphql(
        'mutation { createTier(input: {code: DIAMOND, name: "x", rank: 999, '
        'minAnnualSpend: "1", minTransactions: 1}) { userErrors { code } } }',
        token=admin,
    )
    past = await _data(
        server,
        REVISE,
        admin,
        input={
            "tierId": diamond["id"],
            "version": diamond["version"],
            "minAnnualSpend": "1",
            "minTransactions": 1,
            "effectiveFrom": "2020-01-01",
        },
    )
    future = {
        "tierId": diamond["id"],
        "version": diamond["version"],
        "minAnnualSpend": "900000.00",
        "minTransactions": 300,
        "effectiveFrom": "2099-01-01",
    }
    revised = await _data(server, REVISE, admin, input=future)
    stale = await _data(server, REVISE, admin, input={**future, "effectiveFrom": "2099-06-01"})

    assert again["data"]["createTier"]["userErrors"] == [{"code": "CONFLICT"}]
    assert past["reviseTier"]["userErrors"] == [
        {"code": "BAD_USER_INPUT", "field": "effectiveFrom"}
    ]
    tier = revised["reviseTier"]["tier"]
    assert tier["version"] == diamond["version"] + 1
    assert tier["terms"][-1] == {
        "effectiveFrom": "2099-01-01",
        "minAnnualSpend": "900000.00",
        "minTransactions": 300,
    }
    assert stale["reviseTier"]["userErrors"] == [{"code": "CONFLICT", "field": "version"}]


MERCHANT = """
mutation($input: %s!) {
  %s(input: $input) { merchant { id isActive version } userErrors { code field } }
}"""


async def test_disabling_a_merchant_revokes_its_clients(server: Server, world: World) -> None:
    admin = staff_token(server, world, "demo-admin")
    made = (
        await _data(
            server,
            MERCHANT % ("CreateMerchantInput", "createMerchant"),
            admin,
            input={"name": f"店 {uuid.uuid4().hex[:6]}", "category": "DINING"},
        )
    )["createMerchant"]["merchant"]
    async with server.state.database.session() as session:
        owner = await clients.find_merchant(session, _raw(made["id"]))
        credentials = await clients.create_client(
            session,
            actor=clients.Actor(kind="test", id="t"),
            scopes=frozenset({Scope.OFFERS_READ}),
            merchant=owner,
        )
    disabled = (
        await _data(
            server,
            MERCHANT % ("MerchantInput", "disableMerchant"),
            admin,
            input={"merchantId": made["id"], "version": 1},
        )
    )["disableMerchant"]
    assert disabled["merchant"]["isActive"] is False
    async with server.state.database.session() as session:
        client = await session.scalar(
            select(OAuthClient).where(OAuthClient.client_id == credentials.client.client_id)
        )
        assert client is not None
        assert client.revoked_at is not None
        owner = await clients.find_merchant(session, _raw(made["id"]))
        with pytest.raises(BadUserInput, match="disabled"):
            await clients.create_client(
                session,
                actor=clients.Actor(kind="test", id="t"),
                scopes=frozenset({Scope.OFFERS_READ}),
                merchant=owner,
            )
    enabled = (
        await _data(
            server,
            MERCHANT % ("MerchantInput", "enableMerchant"),
            admin,
            input={"merchantId": made["id"], "version": 2},
        )
    )["enableMerchant"]
    assert enabled["merchant"] == {"id": made["id"], "isActive": True, "version": 3}
    assert to_global_id("Merchant", _raw(made["id"])) == made["id"]
