"""Erasure through the API: the customer asks (once at a time), their branch's supervisor sees
the request with the legal holds that apply now, approving while holds apply is refused
with LEGAL_HOLD naming them (rejecting records them); an agent cannot decide and another
branch's supervisor neither sees nor decides. Once the card is closed and settled, and the
retention period over, approving erases: every sealed cell and blind index of the
customer's rows is NULL on the raw database, a copy of a sealed value taken before can no
longer be opened with the stored keys and the master key, transactions stay, the customer reads back as
a tombstone, a lookup by the old phone finds nothing, writes about them answer
CUSTOMER_ERASED, and ``cardcrm audit verify`` still passes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, or_, select, text
from sqlmodel import SQLModel, col

from auth.audit_checkpoint import checkpoint_signer, verify_anchored
from core.encryption import DecryptionError
from core.identity import Role
from core.settings import Settings
from models.customer_keys import CustomerKey, load_customer_keys
from models.customers.customer import Customer
from models.growth.tier import Tier
from models.key_store import load_key_ring, master_key_from_settings
from models.privacy.consent import ConsentChange
from models.privacy.subjects import SUBJECTS
from models.sealing import open_field
from models.transactions.transaction import Transaction
from resolvers.privacy.erasure import personal_columns
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.resolvers.privacy.support_erasure import Built, add_customer, book
from tests.security.conftest import running_app, variant
from tests.support import World, add_staff

REQUEST = """
mutation { requestErasure { erasureRequest { id status version } userErrors { code message } } }
"""
LIST = """
query($status: ErasureStatus) {
  erasureRequests(status: $status, first: 100) {
    edges { node { id status version legalHolds holdsAtDecision customer { id } } }
  }
}
"""
DECIDE = """
mutation($id: ID!, $approve: Boolean!, $version: Int!) {
  decideErasure(requestId: $id, approve: $approve, expectedVersion: $version) {
    erasureRequest { id status version holdsAtDecision decidedAt customer { id erasedAt } }
    userErrors { field code message }
  }
}
"""
CARDS = "query($id: ID!) { customer(id: $id) { cards { id version status } } }"
CLOSE = """
mutation($input: CardActionInput!) {
  closeCard(input: $input) { card { status } userErrors { code message } }
}
"""
TOMBSTONE = """
query($id: ID!) {
  customer(id: $id) {
    id erasedAt name phone email address idNumber birthDate customerNumber version
    consent { sms email push phone }
    cards { status last4 pan }
  }
}
"""
FIGURES = """
query($from: DateTime!, $to: DateTime!) {
  analytics {
    growth(range: {from: $from, to: $to}) {
      customers customersByTier { key count } customersByStage { key count }
      cardActivation { part whole } active { part whole } churn { part whole }
    }
  }
}
"""
BY_PHONE = "query($p: String!) { customerByPhone(phone: $p, reason: INBOUND_CALL) { id } }"
UPDATE = """
mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { customer { id } userErrors { code } }
}
"""
LOG = """
mutation($input: LogInteractionInput!) {
  logInteraction(input: $input) { interaction { id } userErrors { code } }
}
"""
COMPLAIN = """
mutation($input: FileComplaintInput!) {
  fileComplaint(input: $input) { complaint { id version } userErrors { code } }
}
"""

STEP = """
mutation($id: ID!, $version: Int!) {{
  {name}(input: {{id: $id, version: $version{extra}}}) {{
    complaint {{ id version status }} userErrors {{ code }}
  }}
}}
"""


async def _resolved_complaint(server: Server, token: str, customer_id: str) -> dict[str, Any]:
    """A complaint filed, worked and resolved (no dispute left open)."""
    filed = await server.graphql(
        COMPLAIN, {"input": {"description": "年费扣错了", "customerId": customer_id}}, token=token
    )
    complaint = filed["data"]["fileComplaint"]["complaint"]
    steps = [
        ("acknowledgeComplaint", ', note: "已联系客户"'),
        ("startComplaintWork", ""),
        ("resolveComplaint", ', resolution: "已退还年费"'),
    ]
    for name, extra in steps:
        body = await server.graphql(
            STEP.format(name=name, extra=extra),
            {"id": complaint["id"], "version": complaint["version"]},
            token=token,
        )
        complaint = body["data"][name]["complaint"]
        assert complaint is not None, body
    assert complaint["status"] == "RESOLVED"
    result: dict[str, Any] = complaint
    return result


async def _customer(server: Server, world: World, seed: int, *, active: bool = True) -> Built:
    async with server.state.database.session() as session:
        tier = (await session.scalars(select(Tier).where(Tier.code == "standard"))).one()
    where = (world.branches["BJ-CY"].id, tier.id)
    return await add_customer(
        server.state.database, server.state.key_ring, where, seed=seed, active=active
    )


def _seed() -> int:
    return uuid.uuid4().int % 10**9


async def _request(server: Server, customer: Built) -> dict[str, Any]:
    body = await server.graphql(REQUEST, token=customer_token(server, customer.id))
    payload: dict[str, Any] = body["data"]["requestErasure"]
    return payload


async def _listed(server: Server, token: str, customer: Built) -> list[dict[str, Any]]:
    body = await server.graphql(LIST, {"status": "PENDING"}, token=token)
    edges = body["data"]["erasureRequests"]["edges"]
    mine = to_global_id("Customer", customer.id)
    return [edge["node"] for edge in edges if edge["node"]["customer"]["id"] == mine]


async def _decide(
    server: Server, token: str, request: dict[str, Any], *, approve: bool
) -> dict[str, Any]:
    variables = {"id": request["id"], "approve": approve, "version": request["version"]}
    body = await server.graphql(DECIDE, variables, token=token)
    payload: dict[str, Any] = body["data"]["decideErasure"]
    return payload


async def _close_card(server: Server, token: str, customer: Built) -> None:
    body = await server.graphql(CARDS, {"id": to_global_id("Customer", customer.id)}, token=token)
    card = body["data"]["customer"]["cards"][0]
    closed = await server.graphql(
        CLOSE,
        {"input": {"cardId": card["id"], "version": card["version"], "reason": "客户要求销户"}},
        token=token,
    )
    assert closed["data"]["closeCard"]["card"] == {"status": "CLOSED"}, closed


async def test_approving_is_refused_while_legal_holds_apply_and_rejecting_records_them(
    server: Server, world: World
) -> None:
    # Given a customer with an issued card, who asks to be erased (a second ask: CONFLICT),
    customer = await _customer(server, world, _seed(), active=False)
    asked = await _request(server, customer)
    again = await _request(server, customer)
    supervisor = staff_token(server, world, "demo-supervisor")

    # when their branch's supervisor reads the queue and approves,
    [listed] = await _listed(server, supervisor, customer)
    refused = await _decide(server, supervisor, listed, approve=True)

    # then the request is pending with the holds that apply now, and approval is refused
    # naming them;
    assert asked["userErrors"] == []
    assert asked["erasureRequest"]["status"] == "PENDING"
    assert [error["code"] for error in again["userErrors"]] == ["CONFLICT"]
    assert listed["id"] == asked["erasureRequest"]["id"]
    assert listed["legalHolds"] == ["OPEN_BALANCE", "RETENTION_PERIOD"]
    assert refused["erasureRequest"] is None
    [error] = refused["userErrors"]
    assert (error["code"], error["field"]) == ("LEGAL_HOLD", "approve")
    assert "OPEN_BALANCE" in error["message"]
    assert "RETENTION_PERIOD" in error["message"]

    # once the card is closed the retention period still holds (5 years by default), and a
    # rejection records it.
    await _close_card(server, supervisor, customer)
    [listed] = await _listed(server, supervisor, customer)
    still = await _decide(server, supervisor, listed, approve=True)
    rejected = await _decide(server, supervisor, listed, approve=False)
    assert listed["legalHolds"] == ["RETENTION_PERIOD"]
    assert [error["code"] for error in still["userErrors"]] == ["LEGAL_HOLD"]
    assert rejected["userErrors"] == []
    assert rejected["erasureRequest"]["status"] == "REJECTED"
    assert rejected["erasureRequest"]["holdsAtDecision"] == ["RETENTION_PERIOD"]
    assert rejected["erasureRequest"]["customer"]["erasedAt"] is None
    assert (await _request(server, customer))["userErrors"] == []  # may ask again


async def test_an_agent_and_another_branchs_supervisor_cannot_see_or_decide(
    server: Server, world: World
) -> None:
    customer = await _customer(server, world, _seed())
    asked = (await _request(server, customer))["erasureRequest"]
    agent = staff_token(server, world, "demo-agent")
    other = await add_staff(server.state, world, role="supervisor", branch="SH-PD")
    elsewhere = server.state.tokens.issue(
        subject=str(other.id),
        role=Role.SUPERVISOR,
        client_id="cardcrm-console",
        branch_id=other.branch_id,
        username=other.username,
    )

    agent_list = await server.graphql(LIST, {"status": "PENDING"}, token=agent)
    agent_decides = await _decide(server, agent, asked, approve=False)
    other_list = await _listed(server, elsewhere, customer)
    other_decides = await _decide(server, elsewhere, asked, approve=False)
    customer_decides = await _decide(
        server, customer_token(server, customer.id), asked, approve=False
    )

    assert agent_list["data"]["erasureRequests"] is None
    assert [e["extensions"]["code"] for e in agent_list["errors"]] == ["FORBIDDEN"]
    assert [e["code"] for e in agent_decides["userErrors"]] == ["FORBIDDEN"]
    assert other_list == []
    assert [e["code"] for e in other_decides["userErrors"]] == ["NOT_FOUND"]
    assert [e["code"] for e in customer_decides["userErrors"]] == ["FORBIDDEN"]
    supervisor = staff_token(server, world, "demo-supervisor")
    assert [node["status"] for node in await _listed(server, supervisor, customer)] == ["PENDING"]


async def _personal_cells(server: Server, customer_id: uuid.UUID) -> dict[str, int]:
    """How many rows of each SUBJECTS table hold a sealed cell or blind index of the
    customer's, read from the raw database."""
    counts: dict[str, int] = {}
    async with server.state.database.session() as session:
        for name, path in SUBJECTS.items():
            table = SQLModel.metadata.tables[name]
            columns = personal_columns(table)
            if not columns:
                continue
            if path.parent is None:
                mine = table.c[path.column] == customer_id
            else:
                parent = SQLModel.metadata.tables[path.parent]
                owned = select(parent.c.id).where(parent.c.customer_id == customer_id)
                mine = table.c[path.column].in_(owned)
            held = or_(*(table.c[column].is_not(None) for column in columns))
            counts[name] = int(
                await session.scalar(select(func.count()).select_from(table).where(mine, held)) or 0
            )
    return counts


async def test_approving_without_holds_erases_the_customer_and_leaves_a_tombstone(
    server: Server, world: World, settings: Settings
) -> None:
    # Given a customer who used their card, repaid it in full, had it closed, has a logged
    # call and a resolved complaint, and asked to be erased,
    customer = await _customer(server, world, _seed())
    card_id = customer.card_ids[0]
    await book(
        server.state.database,
        server.state.key_ring,
        card_id,
        [
            ("purchase", "300.00", "2024-01-10T09:00:00+08:00"),
            ("repayment", "300.00", "2024-02-01T09:00:00+08:00"),
        ],
    )
    supervisor = staff_token(server, world, "demo-supervisor")
    customer_id = to_global_id("Customer", customer.id)
    logged = await server.graphql(LOG, {"input": _call(customer_id)}, token=supervisor)
    assert logged["data"]["logInteraction"]["userErrors"] == [], logged
    resolved = await _resolved_complaint(server, supervisor, customer_id)
    await _close_card(server, supervisor, customer)
    asked = (await _request(server, customer))["erasureRequest"]
    before = await _personal_cells(server, customer.id)
    backup = await _backup_phone(server, customer.id)  # a copy of a sealed cell, elsewhere
    assert await _open_with_stored_keys(server, settings, backup) == customer.data.phone
    admin = staff_token(server, world, "demo-admin")
    now = datetime.now(UTC)
    year = {"from": (now - timedelta(days=300)).isoformat(), "to": now.isoformat()}
    figures = await server.graphql(FIGURES, year, token=admin)
    assert "errors" not in figures, figures

    # when a supervisor approves at a bank that keeps nothing after the relationship ends,
    async with running_app(variant(settings, privacy_retention_years=0)) as bank:
        erased = await _decide(bank, supervisor, asked, approve=True)

    # then the request is done and the customer a tombstone: every sealed cell and blind
    # index of their rows gone, their key destroyed, their consent withdrawn (recorded),
    assert erased["userErrors"] == [], erased
    assert erased["erasureRequest"]["status"] == "DONE"
    assert erased["erasureRequest"]["customer"]["erasedAt"] is not None
    assert before["customers"] == before["cards"] == before["interactions"] == 1
    assert before["complaints"] == before["card_events"] == before["complaint_events"] == 1
    assert set((await _personal_cells(server, customer.id)).values()) == {0}
    async with server.state.database.session() as session:
        key = await session.get(CustomerKey, customer.id)
        transactions = await session.scalar(
            select(func.count()).select_from(Transaction).where(col(Transaction.card_id) == card_id)
        )
        withdrawn = list(
            await session.scalars(
                select(ConsentChange).where(col(ConsentChange.customer_id) == customer.id)
            )
        )
        outbox = await session.scalar(
            text(
                "SELECT count(*) FROM outbox_events WHERE type = 'customer.erased' "
                "AND aggregate_id = :id"
            ),
            {"id": str(customer.id)},
        )
    assert key is None
    with pytest.raises(DecryptionError):  # no key left opens the copy
        await _open_with_stored_keys(server, settings, backup)
    assert transactions == 2  # the figures stay
    assert {(change.channel, change.granted, change.source) for change in withdrawn} == {
        ("sms", False, "retention"),
        ("email", False, "retention"),
    }
    assert outbox == 1
    assert await server.graphql(FIGURES, year, token=admin) == figures  # the aggregates unchanged

    # it reads back with null personal fields, a lookup by the old phone finds nothing,
    tombstone = await server.graphql(TOMBSTONE, {"id": customer_id}, token=supervisor)
    lookup = await server.graphql(BY_PHONE, {"p": customer.data.phone}, token=supervisor)
    assert "errors" not in tombstone, tombstone
    read = tombstone["data"]["customer"]
    assert read["erasedAt"] is not None
    for field in ("name", "phone", "email", "address", "idNumber", "birthDate", "customerNumber"):
        assert read[field] is None, field
    assert read["consent"] == {"sms": False, "email": False, "push": False, "phone": False}
    assert read["cards"][0]["status"] == "CLOSED"
    assert read["cards"][0]["pan"] is None
    assert lookup["data"]["customerByPhone"] is None
    assert [e["extensions"]["code"] for e in lookup["errors"]] == ["NOT_FOUND"]

    # writes about them answer CUSTOMER_ERASED, the customer cannot ask again,
    update = await server.graphql(
        UPDATE,
        {"input": {"id": customer_id, "version": read["version"], "name": "新名字"}},
        token=supervisor,
    )
    call = await server.graphql(LOG, {"input": _call(customer_id)}, token=supervisor)
    complaint = await server.graphql(
        COMPLAIN,
        {"input": {"description": "再来一次", "customerId": customer_id}},
        token=supervisor,
    )
    assert update["data"]["updateCustomer"]["userErrors"] == [{"code": "CUSTOMER_ERASED"}]
    assert call["data"]["logInteraction"]["userErrors"] == [{"code": "CUSTOMER_ERASED"}]
    assert complaint["data"]["fileComplaint"]["userErrors"] == [{"code": "CUSTOMER_ERASED"}]
    reopened = await server.graphql(
        STEP.format(name="reopenComplaint", extra=', reason: "客户又来电"'),
        {"id": resolved["id"], "version": resolved["version"]},
        token=supervisor,
    )
    assert reopened["data"]["reopenComplaint"]["userErrors"] == [{"code": "CUSTOMER_ERASED"}]
    assert [e["code"] for e in (await _request(server, customer))["userErrors"]] == [
        "CUSTOMER_ERASED"
    ]

    # and the audit chain still verifies.
    # (in this process: a `cardcrm` subprocess on the shared SQLite file late in the suite
    # can leave it unusable for new connections here; tests/api runs the command itself)
    async with server.state.database.session() as session:
        report = await verify_anchored(session, checkpoint_signer(settings), [])
    assert report.ok, report.chain.problems


async def _backup_phone(server: Server, customer_id: uuid.UUID) -> Customer:
    async with server.state.database.session() as session:
        sealed = await session.scalar(
            select(col(Customer.phone_enc)).where(col(Customer.id) == customer_id)
        )
    assert sealed is not None
    return Customer(id=customer_id, phone_enc=sealed)


async def _open_with_stored_keys(server: Server, settings: Settings, row: Customer) -> str | None:
    """Opens the value as anyone holding the database and the master key could: a ring
    loaded afresh, with the customer's stored key opened into it."""
    async with server.state.database.session() as session:
        ring = await load_key_ring(session, master_key_from_settings(settings))
        ring.forget_customer(row.id)  # nothing this process opened before counts
        await load_customer_keys(session, ring, [row.id])
    return open_field(ring, row, "phone")


def _call(customer_id: str) -> dict[str, Any]:
    return {
        "customerId": customer_id,
        "channel": "PHONE",
        "direction": "INBOUND",
        "kind": "SERVICE",
        "subject": "问账单",
        "notes": "客户说地址是北京市朝阳区建国路1号",
    }
