"""Bank staff through the real HTTP stack: an app of this module's own, configured to trust a
local stand-in for the bank's IdP, on a database of its own (the shared server trusts no
external issuer, and these tests create staff rows).
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from sqlalchemy import select, update
from sqlmodel import col

import migrations
from api.app import create_app
from auth.external_staff import ExternalStaffDirectory, external_staff_id
from auth.scopes import ROLE_SCOPES
from core.errors import Unauthenticated
from core.identity import Role
from core.settings import Environment, Settings
from models.audit.audit import AuditEntry
from models.organisation.organisation import StaffUser
from models.service_desk.interaction import Interaction
from schema.relay import to_global_id
from tests.api.conftest import signed_in, websocket
from tests.auth.bank_idp import ISSUER, BankIdp, bank_claims, bank_idp, bank_token, serving
from tests.auth.test_oidc import Clock
from tests.conftest import Server
from tests.support import (
    World,
    build_world,
    create_postgres_database,
    drop_postgres_database,
    postgres_admin_url,
)

VIEWER = "{ viewer { id username role scopes branchId } }"
LOG = """
mutation Log($input: LogInteractionInput!) {
  logInteraction(input: $input) {
    interaction { id staff { displayName role } }
    userErrors { field code message }
  }
}
"""
REVEAL = """
mutation Reveal($input: RevealCustomerPiiInput!) {
  revealCustomerPii(input: $input) { values { field value } userErrors { code message } }
}
"""


@dataclass
class BankApp:
    server: Server
    idp: BankIdp
    world: World


@asynccontextmanager
async def _own_database(directory: Path) -> AsyncIterator[str]:
    if os.environ.get("CARDCRM_TEST_DATABASE", "sqlite") == "sqlite":
        yield f"sqlite+aiosqlite:///{directory / 'cardcrm.db'}"
        return
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip("PostgreSQL is not reachable (set TEST_DATABASE_URL or start it)")
    name = f"cardcrm_oidc_{uuid.uuid4().hex[:10]}"
    url = create_postgres_database(admin_url, name)
    try:
        yield url
    finally:
        drop_postgres_database(admin_url, name)


@pytest.fixture(scope="module")
async def bank(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BankApp]:
    var_dir = tmp_path_factory.mktemp("oidc")
    async with bank_idp() as idp, _own_database(var_dir) as url:
        settings = Settings(
            environment=Environment.TEST,
            var_dir=var_dir,
            database_url=url,
            master_key=base64.b64encode(os.urandom(32)).decode(),
            oidc_issuers=[idp.issuer()],
        )
        await asyncio.to_thread(migrations.upgrade, settings.sqlalchemy_url)
        app = create_app(settings)
        async with serving(app) as served:
            state = app.state.cardcrm
            async with httpx.AsyncClient(base_url=served.base_url, timeout=30) as client:
                world = await build_world(state, customers=2, seed=11)
                yield BankApp(Server(served.base_url, state, client), idp, world)


def _subject() -> str:
    """A bank user of the test's own, so no test sees another's staff row or cache entry."""
    return f"u-{uuid.uuid4().hex[:12]}"


async def _staff_row(bank: BankApp, subject: str) -> StaffUser | None:
    async with bank.server.state.database.session() as session:
        return await session.get(StaffUser, external_staff_id(ISSUER, subject))


def _assert_unauthenticated(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")
    message: str = error["message"]
    return message


async def test_a_bank_agents_token_reaches_graphql_as_the_mapped_role_and_branch(
    bank: BankApp,
) -> None:
    subject = _subject()

    body = await bank.server.graphql(VIEWER, token=bank_token(sub=subject))

    assert body == {
        "data": {
            "viewer": {
                "id": to_global_id("Viewer", external_staff_id(ISSUER, subject)),
                "username": f"bank:{subject}",
                "role": "AGENT",
                "scopes": sorted(ROLE_SCOPES[Role.AGENT]),
                "branchId": to_global_id("Branch", bank.world.branches["BJ-CY"].id),
            }
        }
    }


async def test_a_bank_user_gets_a_staff_row_that_no_password_opens(bank: BankApp) -> None:
    subject = _subject()

    await bank.server.graphql(VIEWER, token=bank_token(sub=subject))

    row = await _staff_row(bank, subject)
    assert row is not None
    assert (row.username, row.display_name, row.role, row.branch_id, row.is_active) == (
        f"bank:{subject}",
        "王小明",
        "agent",
        bank.world.branches["BJ-CY"].id,
        True,
    )
    login = await bank.server.client.post(
        "/auth/login", json={"username": row.username, "password": row.password_hash}
    )
    assert login.status_code == 401


async def test_a_bank_agents_interaction_is_attributed_to_their_staff_row(bank: BankApp) -> None:
    subject = _subject()
    variables = {
        "input": {
            "customerId": to_global_id("Customer", bank.world.alice.id),
            "channel": "PHONE",
            "direction": "INBOUND",
            "kind": "SERVICE",
            "subject": "账单咨询",
        }
    }

    body = await bank.server.graphql(LOG, variables, token=bank_token(sub=subject))

    payload = body["data"]["logInteraction"]
    assert payload["userErrors"] == []
    assert payload["interaction"]["staff"] == {"displayName": "王小明", "role": "AGENT"}
    async with bank.server.state.database.session() as session:
        staff_ids = (
            await session.scalars(
                select(col(Interaction.staff_id)).where(
                    col(Interaction.customer_id) == bank.world.alice.id
                )
            )
        ).all()
    assert external_staff_id(ISSUER, subject) in staff_ids


async def test_the_audit_log_names_the_bank_user_through_their_staff_row(bank: BankApp) -> None:
    subject = _subject()
    variables = {
        "input": {
            "customerId": to_global_id("Customer", bank.world.alice.id),
            "fields": ["NAME"],
            "purpose": "verifying the cardholder's identity for ticket 4711",
        }
    }
    supervisor = bank_token(sub=subject, roles=["crm-supervisor"])

    body = await bank.server.graphql(REVEAL, variables, token=supervisor)

    assert body["data"]["revealCustomerPii"]["values"] == [{"field": "NAME", "value": "张三丰"}], (
        body
    )
    async with bank.server.state.database.session() as session:
        entry = (
            await session.scalars(
                select(AuditEntry).where(
                    col(AuditEntry.actor_id) == str(external_staff_id(ISSUER, subject))
                )
            )
        ).one()
        actor = await session.get(StaffUser, uuid.UUID(entry.actor_id))
    assert (entry.actor_kind, entry.action) == ("staff", "pii.reveal")
    assert actor is not None
    assert actor.username == f"bank:{subject}"


async def test_when_the_bank_moves_a_user_the_next_request_follows(bank: BankApp) -> None:
    subject = _subject()
    await bank.server.graphql(VIEWER, token=bank_token(sub=subject))

    moved = bank_token(sub=subject, roles=["crm-supervisor"], branch="SH-PD")
    body = await bank.server.graphql(VIEWER, token=moved)

    assert body["data"]["viewer"]["role"] == "SUPERVISOR"
    row = await _staff_row(bank, subject)
    assert row is not None
    assert (row.role, row.branch_id) == ("supervisor", bank.world.branches["SH-PD"].id)


async def test_after_the_first_request_a_bank_user_costs_no_authentication_statement(
    bank: BankApp,
) -> None:
    token = bank_token(sub=_subject())
    own = bank.server.state.tokens.issue(
        subject=str(bank.world.staff["demo-agent"].id),
        role=Role.AGENT,
        client_id="cardcrm-console",
        branch_id=bank.world.branches["BJ-CY"].id,
    )

    await bank.server.graphql(VIEWER, token=bank_token(sub=_subject()))  # BJ-CY is now known

    _, first = await bank.server.count_statements(VIEWER, token=token)
    _, again = await bank.server.count_statements(VIEWER, token=token)
    _, ours = await bank.server.count_statements(VIEWER, token=own)

    assert first == 1  # the staff row's upsert
    assert again == ours == 0


async def test_cardcrms_own_tokens_still_work_beside_the_banks(bank: BankApp) -> None:
    agent = bank.world.staff["demo-agent"]
    token = bank.server.state.tokens.issue(
        subject=str(agent.id),
        role=Role.AGENT,
        client_id="cardcrm-console",
        branch_id=agent.branch_id,
        username=agent.username,
    )

    body = await bank.server.graphql(VIEWER, token=token)

    assert body["data"]["viewer"]["username"] == "demo-agent"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"roles": ["staff-canteen"]}, "grants no cardcrm role"),
        ({"branch": "ZZ-99"}, "not a cardcrm branch"),
        ({"aud": "bank-portal"}, "`aud`"),
        ({"exp": int(time.time()) - 120}, "expired"),
    ],
)
async def test_a_bank_token_cardcrm_cannot_accept_is_401(
    bank: BankApp, claims: dict[str, Any], reason: str
) -> None:
    response = await bank.server.post(VIEWER, token=bank_token(sub=_subject(), **claims))

    assert reason in _assert_unauthenticated(response)


async def test_a_token_of_an_issuer_nobody_configured_is_401(bank: BankApp) -> None:
    token = bank_token(iss="https://idp.elsewhere.test")

    _assert_unauthenticated(await bank.server.post(VIEWER, token=token))


async def test_the_banks_key_cannot_sign_for_cardcrm_nor_cardcrms_for_the_bank(
    bank: BankApp,
) -> None:
    state = bank.server.state
    ours = state.tokens.signing_key
    claiming_cardcrm = bank_token(iss=state.tokens.issuer, aud=state.tokens.audience)
    header = {"alg": "RS256", "kid": ours.kid}
    claiming_the_bank = jwt.encode(header, bank_claims(), ours, algorithms=["RS256"])

    _assert_unauthenticated(await bank.server.post(VIEWER, token=claiming_cardcrm))
    _assert_unauthenticated(await bank.server.post(VIEWER, token=claiming_the_bank))


async def test_a_local_account_holding_the_bank_users_name_is_not_taken_over(
    bank: BankApp,
) -> None:
    subject = _subject()
    local = StaffUser(
        username=f"bank:{subject}", display_name="Local", password_hash="x", role="admin"
    )
    async with bank.server.state.database.session() as session:
        session.add(local)
        await session.commit()

    response = await bank.server.post(VIEWER, token=bank_token(sub=subject))

    assert "belongs to another account" in _assert_unauthenticated(response)
    async with bank.server.state.database.session() as session:
        kept = await session.get(StaffUser, local.id)
    assert kept is not None
    assert (kept.role, kept.display_name) == ("admin", "Local")


async def test_a_websocket_connection_authenticates_with_a_bank_token(bank: BankApp) -> None:
    async with signed_in(bank.server.base_url, bank_token(sub=_subject())):
        pass


async def test_a_websocket_with_an_unmapped_bank_role_is_rejected_with_4403(
    bank: BankApp,
) -> None:
    token = bank_token(sub=_subject(), roles=["staff-canteen"])

    async with websocket(bank.server.base_url) as socket:
        await socket.send({"type": "connection_init", "payload": {"token": token}})
        assert await socket.close_status() == (4403, "Forbidden")


async def test_a_bank_user_deactivated_in_cardcrm_is_refused_from_the_next_sync(
    bank: BankApp,
) -> None:
    state = bank.server.state
    clock = Clock()
    directory = ExternalStaffDirectory(state.database, sync_seconds=300, clock=clock)
    token = bank_token(sub=_subject())
    issuer = state.oidc.issuer_of(token)
    assert issuer is not None
    identity = await state.oidc.verify(token, issuer)
    principal = await directory.principal_for(identity)
    async with state.database.session() as session:
        await session.execute(
            update(StaffUser).where(col(StaffUser.id) == principal.staff_id).values(is_active=False)
        )
        await session.commit()

    await directory.principal_for(identity)  # still within the sync interval
    clock.advance(301)
    with pytest.raises(Unauthenticated) as refused:
        await directory.principal_for(identity)

    assert "deactivated" in refused.value.message
