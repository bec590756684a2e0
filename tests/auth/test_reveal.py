"""``revealCustomerPii``: who may reveal what, why, how often, and what the audit log keeps.

Callers whose reveals or audit entries are counted are fresh staff users made here, so the
counts do not depend on what other tests did with the demo users.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from auth.passwords import hash_password
from auth.scopes import ROLE_SCOPES
from core.identity import Role, Scope
from models.audit.audit import AuditEntry
from models.organisation.organisation import StaffUser
from tests.conftest import Server, customer_token, staff_token
from tests.support import World

REVEAL = """
mutation Reveal($input: RevealCustomerPiiInput!) {
  revealCustomerPii(input: $input) {
    values { field value cardId }
    userErrors { field code message }
  }
}
"""
AUDIT_LOG = """
query Audit($actorId: String!) {
  auditLog(first: 100, filter: {actorId: $actorId, action: "pii.reveal"}) {
    totalCount
    edges { node { id seq actorKind actorId action targetType targetId fields purpose
      requestId clientAddr createdAt prevHash hash } }
  }
}
"""
AUDIT_LOG_ANYONE = "{ auditLog(first: 1) { totalCount } }"

PURPOSE = "verifying the cardholder's identity for complaint ticket 4711"
ALL_FIELDS = ["NAME", "PHONE", "EMAIL", "ID_NUMBER", "ADDRESS", "BIRTH_DATE", "PAN"]
ALICE_CLEAR = {
    "NAME": "张三丰",
    "PHONE": "13812345678",
    "EMAIL": "zhangsan@example.com",
    "ID_NUMBER": "110101199003071233",
    "ADDRESS": "北京市朝阳区建国路88号",
    "BIRTH_DATE": "1990-03-07",
    "PAN": "6228480012345671",
}


@dataclass(frozen=True)
class Caller:
    user_id: uuid.UUID
    token: str


def _global_id(kind: str, raw: object) -> str:
    return base64.b64encode(f"{kind}:{raw}".encode()).decode()


async def _new_staff(
    server: Server,
    world: World,
    role: Role,
    branch_code: str | None = None,
    scopes: frozenset[Scope] | None = None,
) -> Caller:
    """A staff user of its own, so its reveals and audit entries are this test's alone."""
    username = f"test-reveal-{uuid.uuid4().hex[:12]}"
    branch_id = world.branches[branch_code].id if branch_code else None
    user = StaffUser(
        username=username,
        display_name="测试用户",
        password_hash=await hash_password(uuid.uuid4().hex),
        role=role.value,
        branch_id=branch_id,
    )
    user_id = user.id
    async with server.state.database.session() as session:
        session.add(user)
        await session.commit()
    token = server.state.tokens.issue(
        subject=str(user_id),
        role=role,
        client_id="cardcrm-console",
        scopes=scopes,
        branch_id=branch_id,
        username=username,
    )
    return Caller(user_id, token)


async def _reveal(
    server: Server,
    token: str,
    customer_id: uuid.UUID,
    fields: list[str],
    purpose: str = PURPOSE,
) -> dict[str, Any]:
    body = await server.graphql(
        REVEAL,
        {
            "input": {
                "customerId": _global_id("Customer", customer_id),
                "fields": fields,
                "purpose": purpose,
            }
        },
        token=token,
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["revealCustomerPii"]
    return payload


def _codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["userErrors"]]


async def _reveal_entries(server: Server, world: World, actor: uuid.UUID) -> dict[str, Any]:
    body = await server.graphql(
        AUDIT_LOG, {"actorId": str(actor)}, token=staff_token(server, world, "demo-auditor")
    )
    assert "errors" not in body, body
    log: dict[str, Any] = body["data"]["auditLog"]
    return log


async def _audit_rows(server: Server, actor: uuid.UUID) -> list[AuditEntry]:
    async with server.state.database.session() as session:
        rows = await session.scalars(
            select(AuditEntry).where(
                col(AuditEntry.actor_id) == str(actor), col(AuditEntry.action) == "pii.reveal"
            )
        )
        return list(rows.all())


async def test_given_a_supervisor_with_a_purpose_when_revealing_every_c2_field_then_all_are_clear(
    server: Server, world: World
) -> None:
    supervisor = await _new_staff(server, world, Role.SUPERVISOR, "BJ-CY")

    payload = await _reveal(server, supervisor.token, world.alice.id, ALL_FIELDS)

    assert payload["userErrors"] == []
    values = payload["values"]
    assert len(values) == len(ALL_FIELDS)
    assert {value["field"]: value["value"] for value in values} == ALICE_CLEAR
    (card_id,) = world.alice.card_ids
    assert {value["field"]: value["cardId"] for value in values} == {
        **dict.fromkeys(ALL_FIELDS, None),
        "PAN": _global_id("Card", card_id),
    }


async def test_given_a_reveal_then_exactly_one_audit_entry_names_fields_and_purpose_only(
    server: Server, world: World
) -> None:
    supervisor = await _new_staff(server, world, Role.SUPERVISOR, "BJ-CY")
    assert (await _reveal_entries(server, world, supervisor.user_id))["totalCount"] == 0

    payload = await _reveal(server, supervisor.token, world.alice.id, ALL_FIELDS)
    assert payload["userErrors"] == []

    log = await _reveal_entries(server, world, supervisor.user_id)
    assert log["totalCount"] == 1
    (edge,) = log["edges"]
    entry = edge["node"]
    assert entry["actorKind"] == "staff"
    assert entry["actorId"] == str(supervisor.user_id)
    assert entry["action"] == "pii.reveal"
    assert entry["targetType"] == "Customer"
    assert entry["targetId"] == str(world.alice.id)
    assert sorted(entry["fields"]) == sorted(
        ["name", "phone", "email", "idNumber", "address", "birthDate", "pan"]
    )
    assert entry["purpose"] == PURPOSE

    as_served = json.dumps(entry, ensure_ascii=False)
    (row,) = await _audit_rows(server, supervisor.user_id)
    as_stored = json.dumps(row.model_dump(mode="json"), ensure_ascii=False)
    for clear in ALICE_CLEAR.values():
        assert clear not in as_served
        assert clear not in as_stored


async def test_given_an_agent_when_revealing_a_phone_then_it_is_clear_and_audited_once(
    server: Server, world: World
) -> None:
    agent = await _new_staff(server, world, Role.AGENT, "BJ-CY")

    payload = await _reveal(server, agent.token, world.alice.id, ["PHONE"])

    assert payload == {
        "values": [{"field": "PHONE", "value": "13812345678", "cardId": None}],
        "userErrors": [],
    }
    log = await _reveal_entries(server, world, agent.user_id)
    assert log["totalCount"] == 1
    assert log["edges"][0]["node"]["fields"] == ["phone"]


@pytest.mark.parametrize(
    "fields", [["ID_NUMBER"], ["PHONE", "ID_NUMBER"], ["PAN"]], ids=["id", "phone+id", "pan"]
)
async def test_given_an_agent_when_revealing_more_than_a_phone_then_forbidden_and_nothing_revealed(
    server: Server, world: World, fields: list[str]
) -> None:
    agent = await _new_staff(server, world, Role.AGENT, "BJ-CY")

    payload = await _reveal(server, agent.token, world.alice.id, fields)

    assert payload["values"] == []
    assert _codes(payload) == ["FORBIDDEN"]
    assert payload["userErrors"][0]["field"] == "fields"
    assert (await _reveal_entries(server, world, agent.user_id))["totalCount"] == 0


@pytest.mark.parametrize("role", [Role.MARKETER, Role.AUDITOR, Role.RISK_OFFICER])
@pytest.mark.parametrize("fields", [["PHONE"], ["NAME"], ALL_FIELDS], ids=["phone", "name", "all"])
async def test_given_a_role_that_never_reveals_then_every_reveal_is_forbidden(
    server: Server, world: World, role: Role, fields: list[str]
) -> None:
    caller = await _new_staff(server, world, role)

    payload = await _reveal(server, caller.token, world.alice.id, fields)

    assert payload["values"] == []
    assert _codes(payload) == ["FORBIDDEN"]
    assert (await _reveal_entries(server, world, caller.user_id))["totalCount"] == 0


@pytest.mark.parametrize("demo_user", ["demo-marketer", "demo-auditor", "demo-risk"])
async def test_given_a_demo_user_that_never_reveals_then_the_reveal_is_forbidden(
    server: Server, world: World, demo_user: str
) -> None:
    payload = await _reveal(
        server, staff_token(server, world, demo_user), world.alice.id, ["PHONE"]
    )
    assert payload["values"] == []
    assert _codes(payload) == ["FORBIDDEN"]


async def test_given_a_customer_token_then_revealing_is_forbidden(
    server: Server, world: World
) -> None:
    payload = await _reveal(
        server, customer_token(server, world.alice.id), world.alice.id, ["ID_NUMBER"]
    )
    assert payload["values"] == []
    assert _codes(payload) == ["FORBIDDEN"]


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENT])
async def test_given_a_token_without_pii_reveal_then_the_reveal_is_forbidden(
    server: Server, world: World, role: Role
) -> None:
    caller = await _new_staff(
        server, world, role, "BJ-CY", scopes=ROLE_SCOPES[role] - {Scope.PII_REVEAL}
    )

    payload = await _reveal(server, caller.token, world.alice.id, ["PHONE"])

    assert payload["values"] == []
    assert _codes(payload) == ["FORBIDDEN"]
    assert (await _reveal_entries(server, world, caller.user_id))["totalCount"] == 0


@pytest.mark.parametrize(
    "purpose",
    [
        "test",
        "asdf",
        "TEST.",
        "  n/a  ",
        "",
        "short",
        "核对身份",  # four CJK characters: about eight letters' worth, still too short
        "aaaaaaaaaaaaaaaaaaaa",  # long, but one repeated key
        "asdfasdfasdfasdf",  # long, but one repeated placeholder
        "calling back on 13812345678 to verify",  # a phone number would land in the audit log
        "ID 110101199003071233 does not match",  # so would a national ID
        "send it to zhangsan@example.com please",  # or an e-mail address
    ],
)
async def test_given_a_trivial_purpose_then_the_reveal_is_bad_user_input(
    server: Server, world: World, purpose: str
) -> None:
    supervisor = await _new_staff(server, world, Role.SUPERVISOR, "BJ-CY")

    payload = await _reveal(server, supervisor.token, world.alice.id, ["PHONE"], purpose)

    assert payload["values"] == []
    assert _codes(payload) == ["BAD_USER_INPUT"]
    assert payload["userErrors"][0]["field"] == "purpose"
    assert (await _reveal_entries(server, world, supervisor.user_id))["totalCount"] == 0


async def test_given_no_fields_then_the_reveal_is_bad_user_input(
    server: Server, world: World
) -> None:
    supervisor = await _new_staff(server, world, Role.SUPERVISOR, "BJ-CY")

    payload = await _reveal(server, supervisor.token, world.alice.id, [])

    assert payload["values"] == []
    assert _codes(payload) == ["BAD_USER_INPUT"]
    assert (await _reveal_entries(server, world, supervisor.user_id))["totalCount"] == 0


@pytest.mark.parametrize(
    ("role", "fields"),
    [(Role.SUPERVISOR, ALL_FIELDS), (Role.AGENT, ["PHONE"])],
    ids=["supervisor-all-fields", "agent-phone"],
)
async def test_given_a_customer_of_another_branch_then_the_reveal_is_not_found(
    server: Server, world: World, role: Role, fields: list[str]
) -> None:
    caller = await _new_staff(server, world, role, "BJ-CY")

    payload = await _reveal(server, caller.token, world.bob.id, fields)

    assert payload["values"] == []
    assert _codes(payload) == ["NOT_FOUND"]
    assert (await _reveal_entries(server, world, caller.user_id))["totalCount"] == 0


async def test_given_an_unknown_customer_then_the_reveal_is_not_found(
    server: Server, world: World
) -> None:
    supervisor = await _new_staff(server, world, Role.SUPERVISOR, "BJ-CY")

    payload = await _reveal(server, supervisor.token, uuid.uuid4(), ["PHONE"])

    assert payload["values"] == []
    assert _codes(payload) == ["NOT_FOUND"]


async def test_given_the_hourly_limit_is_used_up_then_the_next_reveal_is_rate_limited(
    server: Server, world: World
) -> None:
    limit = server.state.settings.reveal_limit_per_hour
    supervisor = await _new_staff(server, world, Role.SUPERVISOR, "BJ-CY")

    for _ in range(limit):
        payload = await _reveal(server, supervisor.token, world.alice.id, ["PHONE"])
        assert payload["userErrors"] == [], payload
        assert payload["values"][0]["value"] == "13812345678"

    refused = await _reveal(server, supervisor.token, world.alice.id, ["PHONE"])

    assert refused["values"] == []
    assert _codes(refused) == ["RATE_LIMITED"]
    assert (await _reveal_entries(server, world, supervisor.user_id))["totalCount"] == limit


async def test_given_one_supervisor_at_the_limit_then_another_may_still_reveal(
    server: Server, world: World
) -> None:
    """The limit is per actor: other supervisors are not held back by someone else's use."""
    limit = server.state.settings.reveal_limit_per_hour
    busy = await _new_staff(server, world, Role.SUPERVISOR, "BJ-CY")
    for _ in range(limit):
        assert (await _reveal(server, busy.token, world.alice.id, ["EMAIL"]))["userErrors"] == []
    assert _codes(await _reveal(server, busy.token, world.alice.id, ["EMAIL"])) == ["RATE_LIMITED"]

    other = await _new_staff(server, world, Role.SUPERVISOR, "BJ-CY")
    payload = await _reveal(server, other.token, world.alice.id, ["EMAIL"])
    assert payload["userErrors"] == []
    assert payload["values"][0]["value"] == "zhangsan@example.com"


@pytest.mark.parametrize("demo_user", ["demo-agent", "demo-marketer"])
async def test_given_a_role_without_audit_read_then_the_audit_log_is_forbidden(
    server: Server, world: World, demo_user: str
) -> None:
    body = await server.graphql(AUDIT_LOG_ANYONE, token=staff_token(server, world, demo_user))
    assert body["data"] == {"auditLog": None}
    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]
    assert body["errors"][0]["path"] == ["auditLog"]


@pytest.mark.parametrize("demo_user", ["demo-auditor", "demo-admin"])
async def test_given_an_auditor_or_admin_then_the_audit_log_is_readable(
    server: Server, world: World, demo_user: str
) -> None:
    body = await server.graphql(AUDIT_LOG_ANYONE, token=staff_token(server, world, demo_user))
    assert "errors" not in body, body
    assert body["data"]["auditLog"]["totalCount"] >= 0
