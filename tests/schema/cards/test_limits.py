"""Credit-limit requests over HTTP: request, maker–checker decision, cancel, history, audit,
versions, one pending request per card, idempotent replays and the list's statements."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update

from core.identity import Role
from models.organisation.organisation import StaffUser
from tests.conftest import Server
from tests.schema.cards.support_limits import (
    REQUEST,
    audit_actions,
    cancel,
    card_view,
    cardholder,
    decide,
    error_of,
    in_days,
    raw_id,
    request,
    staff,
)
from tests.support import World, add_staff


async def test_a_customer_asks_and_a_risk_officer_approves_into_the_cards_history(
    server: Server, world: World
) -> None:
    holder = await cardholder(server, world)
    risk = staff(server, world, "risk_officer")

    asked = await request(server, holder.card, holder.token)
    assert asked["userErrors"] == []
    made = asked["request"]
    assert (made["status"], made["version"], made["requesterKind"]) == ("PENDING", 1, "customer")
    assert (made["currentLimit"], made["requestedLimit"]) == ("10000.00", "20000.00")
    assert made["reason"] == "出国旅行需要更高额度"  # the customer's own: clear
    assert made["allowedActions"] == ["APPROVE", "REJECT", "CANCEL"]
    pending = await card_view(server, holder.card, risk)
    assert pending["pendingLimitRequest"] == {"id": made["id"], "status": "PENDING"}

    approved = await decide(server, made, risk)
    assert approved["userErrors"] == [], approved
    done = approved["request"]
    assert (done["status"], done["version"], done["allowedActions"]) == ("APPROVED", 2, [])
    assert done["card"]["creditLimit"] == "20000.00"
    assert done["decisionReason"] == "收入证明充分，还款记录良好"
    card = await card_view(server, holder.card, holder.token)
    assert card["pendingLimitRequest"] is None
    assert [
        (c["kind"], c["oldLimit"], c["newLimit"], c["actorKind"])
        for c in card["creditLimitHistory"]
    ] == [("REQUEST_APPROVED", "10000.00", "20000.00", "staff")]
    assert card["creditLimitHistory"][0]["requestId"] == made["id"]
    assert await audit_actions(server, raw_id(made["id"])) == [
        ("card.limit_request", "customer"),
        ("card.limit_decide", "staff"),
    ]


async def test_a_rejection_keeps_the_limit_and_a_temporary_approval_records_its_end(
    server: Server, world: World
) -> None:
    holder = await cardholder(server, world)
    risk = staff(server, world, "risk_officer")
    agent = staff(server, world, "agent")
    first = (await request(server, holder.card, agent, "30000"))["request"]
    assert first["requesterKind"] == "staff"
    rejected = (await decide(server, first, risk, "REJECT"))["request"]
    assert (rejected["status"], rejected["card"]["creditLimit"]) == ("REJECTED", "10000.00")

    until = in_days(30)
    second = (await request(server, holder.card, holder.token, "15000", until=until))["request"]
    approved = (await decide(server, second, risk))["request"]
    assert (approved["temporaryUntil"], approved["card"]["creditLimit"]) == (
        until.isoformat(),
        "15000.00",
    )
    history = (await card_view(server, holder.card, risk))["creditLimitHistory"]
    assert [(c["kind"], c["temporaryUntil"]) for c in history] == [
        ("REQUEST_APPROVED", until.isoformat())
    ]


async def test_the_requester_never_decides_their_own_request_whatever_their_role(
    server: Server, world: World
) -> None:
    holder = await cardholder(server, world)
    admin = staff(server, world, "admin")
    made = (await request(server, holder.card, admin))["request"]
    refused = await decide(server, made, admin)
    assert error_of(refused) == ("requestId", "FORBIDDEN")
    assert "maker–checker" in refused["userErrors"][0]["message"]
    assert refused["request"] is None
    assert await audit_actions(server, raw_id(made["id"])) == [
        ("card.limit_request", "staff"),
        ("card.limit_decide_refused", "staff"),
    ]
    await cancel(server, made, admin)

    # An agent who asked, then became a risk officer, still may not decide it.
    agent = await add_staff(server.state, world, role="agent", branch="BJ-CY")
    as_agent = server.state.tokens.issue(
        subject=str(agent.id),
        role=Role.AGENT,
        client_id="cardcrm-console",
        branch_id=agent.branch_id,
        username=agent.username,
    )
    asked = (await request(server, holder.card, as_agent))["request"]
    async with server.state.database.session() as session:
        await session.execute(
            update(StaffUser).where(StaffUser.id == agent.id).values(role=Role.RISK_OFFICER)  # type: ignore[arg-type]
        )
        await session.commit()
    as_risk = server.state.tokens.issue(
        subject=str(agent.id),
        role=Role.RISK_OFFICER,
        client_id="cardcrm-console",
        username=agent.username,
    )
    assert error_of(await decide(server, asked, as_risk)) == ("requestId", "FORBIDDEN")
    other = await decide(server, asked, staff(server, world, "risk_officer"))
    assert other["request"]["status"] == "APPROVED"


async def test_one_pending_request_per_card_and_the_requester_may_cancel_it(
    server: Server, world: World
) -> None:
    holder = await cardholder(server, world)
    made = (await request(server, holder.card, holder.token))["request"]
    again = await request(server, holder.card, staff(server, world, "agent"), "25000")
    assert error_of(again) == ("cardId", "CONFLICT")
    assert error_of(await cancel(server, made, staff(server, world, "agent"))) == (
        None,
        "FORBIDDEN",
    )
    cancelled = (await cancel(server, made, holder.token))["request"]
    assert (cancelled["status"], cancelled["version"]) == ("CANCELLED", 2)
    assert (await request(server, holder.card, holder.token))["userErrors"] == []
    assert await audit_actions(server, raw_id(made["id"])) == [
        ("card.limit_request", "customer"),
        ("card.limit_cancel", "customer"),
    ]


async def test_a_stale_version_or_a_decided_request_is_a_conflict(
    server: Server, world: World
) -> None:
    holder = await cardholder(server, world)
    risk = staff(server, world, "risk_officer")
    made = (await request(server, holder.card, holder.token))["request"]
    stale = await decide(server, {**made, "version": 0}, risk)
    assert error_of(stale) == ("version", "CONFLICT")
    await decide(server, made, risk, "REJECT")
    twice = await decide(server, {**made, "version": 2}, risk)
    assert error_of(twice) == ("status", "CONFLICT")
    assert (
        "cannot approve a credit-limit request that is rejected"
        in twice["userErrors"][0]["message"]
    )
    assert (await card_view(server, holder.card, risk))["creditLimitHistory"] == []


async def test_bad_amounts_and_dates_are_refused_naming_the_field(
    server: Server, world: World
) -> None:
    holder = await cardholder(server, world)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"new_limit": "10000"}, "newLimit"),  # the current limit
        ({"new_limit": "100.001"}, "newLimit"),
        ({"new_limit": "-1"}, "newLimit"),
        ({"until": in_days(0)}, "temporaryUntil"),
        ({"until": in_days(91)}, "temporaryUntil"),
        ({"new_limit": "5000", "until": in_days(10)}, "newLimit"),  # a temporary decrease
        ({"reason": "   "}, "reason"),
    ]
    for arguments, field in cases:
        refused = await request(server, holder.card, holder.token, **arguments)
        assert error_of(refused) == (field, "BAD_USER_INPUT"), (arguments, refused)
    assert (await request(server, holder.card, holder.token, until=in_days(90)))["userErrors"] == []


async def test_who_may_ask_decide_and_read(server: Server, world: World) -> None:
    holder = await cardholder(server, world)  # branch BJ-CY
    other = await cardholder(server, world)
    for role in ("marketer", "risk_officer", "auditor"):
        refused = await request(server, holder.card, staff(server, world, role))
        assert error_of(refused) == (None, "FORBIDDEN"), role
    from tests.schema.cards.support_limits import service_token
    from tests.support_offers import add_merchant, merchant_token

    merchant = merchant_token(server.state, await add_merchant(server.state))
    service = await service_token(server)
    for token in (merchant, service):
        assert error_of(await request(server, holder.card, token)) == (None, "FORBIDDEN")
    # Outside one's scope a card does not exist.
    assert error_of(await request(server, holder.card, other.token)) == ("cardId", "NOT_FOUND")
    agent_b = staff(server, world, "agent_b")
    assert error_of(await request(server, holder.card, agent_b)) == ("cardId", "NOT_FOUND")

    made = (await request(server, holder.card, staff(server, world, "supervisor")))["request"]
    for role in ("agent", "supervisor", "auditor", "marketer"):
        assert error_of(await decide(server, made, staff(server, world, role)))[1] == "FORBIDDEN"
    assert error_of(await decide(server, made, other.token))[1] == "FORBIDDEN"

    listing = "query($f: CreditLimitRequestFilter) { creditLimitRequests(first: 100, filter: $f) { edges { node { id reason } } } }"

    def ids(body: dict[str, Any]) -> set[str]:
        return {e["node"]["id"] for e in body["data"]["creditLimitRequests"]["edges"]}

    pending = {"f": {"status": "PENDING"}}
    assert made["id"] in ids(
        await server.graphql(listing, pending, token=staff(server, world, "risk_officer"))
    )
    assert made["id"] in ids(
        await server.graphql(listing, pending, token=staff(server, world, "agent"))
    )
    assert made["id"] not in ids(await server.graphql(listing, pending, token=agent_b))
    assert made["id"] not in ids(await server.graphql(listing, pending, token=other.token))
    assert ids(await server.graphql(listing, {}, token=holder.token)) == {made["id"]}
    for token in (staff(server, world, "marketer"), merchant, service):
        body = await server.graphql(listing, {}, token=token)
        assert body["data"]["creditLimitRequests"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # The reason: clear to the card's people and risk, masked to admins and auditors.
    for role, clear in (("risk_officer", True), ("supervisor", True), ("auditor", False)):
        body = await server.graphql(listing, pending, token=staff(server, world, role))
        reasons = {
            e["node"]["id"]: e["node"]["reason"]
            for e in body["data"]["creditLimitRequests"]["edges"]
        }
        assert (reasons[made["id"]] == "出国旅行需要更高额度") is clear, role


async def test_a_risk_decrease_is_recorded_with_its_reasons_and_never_raises(
    server: Server, world: World
) -> None:
    from tests.schema.cards.support_limits import DECREASE, payload

    holder = await cardholder(server, world)
    risk = staff(server, world, "risk_officer")

    def decrease(new_limit: str, reasons: list[str]) -> dict[str, Any]:
        return {
            "input": {
                "cardId": holder.card,
                "newLimit": new_limit,
                "reasons": reasons,
                "note": "连续两期逾期",
            }
        }

    raised = payload(await server.graphql(DECREASE, decrease("12000", ["OVERDUE"]), token=risk))
    assert error_of(raised) == ("newLimit", "BAD_USER_INPUT")
    unexplained = payload(await server.graphql(DECREASE, decrease("5000", []), token=risk))
    assert error_of(unexplained) == ("reasons", "BAD_USER_INPUT")
    for role in ("agent", "supervisor"):
        refused = payload(
            await server.graphql(
                DECREASE, decrease("5000", ["OVERDUE"]), token=staff(server, world, role)
            )
        )
        assert error_of(refused) == (None, "FORBIDDEN")

    done = payload(
        await server.graphql(
            DECREASE, decrease("6000", ["OVERDUE", "HIGH_UTILISATION"]), token=risk
        )
    )
    assert done["userErrors"] == [], done
    assert done["card"]["creditLimit"] == "6000.00"
    assert done["card"]["creditLimitHistory"] == [
        {
            "kind": "RISK_DECREASE",
            "oldLimit": "10000.00",
            "newLimit": "6000.00",
            "reasons": ["HIGH_UTILISATION", "OVERDUE"],
            "note": "连续两期逾期",
        }
    ]
    seen = await card_view(server, holder.card, holder.token)
    assert seen["creditLimitHistory"][0]["note"] != "连续两期逾期"  # masked to the customer
    assert seen["creditLimit"] == "6000.00"
    actions = await audit_actions(server, raw_id(holder.card))
    assert actions == [("card.limit_decrease", "staff")]


async def test_a_replayed_idempotency_key_makes_one_request(server: Server, world: World) -> None:
    holder = await cardholder(server, world)
    key = uuid.uuid4().hex
    variables = {"input": {"cardId": holder.card, "newLimit": "18000", "reason": "装修"}}
    headers = {"Idempotency-Key": key}
    first = await server.post(REQUEST, variables, token=holder.token, headers=headers)
    again = await server.post(REQUEST, variables, token=holder.token, headers=headers)
    assert first.json()["data"]["requestCreditLimitChange"]["userErrors"] == []
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    listing = "{ creditLimitRequests(first: 10) { totalCount } }"
    body = await server.graphql(listing, token=holder.token)
    assert body["data"]["creditLimitRequests"]["totalCount"] == 1


PAGE = """
query Page($first: Int!, $branch: ID!) {
  creditLimitRequests(first: $first, filter: {branchId: $branch, status: PENDING}) {
    totalCount
    edges { node { id reason requestedLimit card { id creditLimit pan
      pendingLimitRequest { id } creditLimitHistory(first: 5) { kind newLimit } } } }
  }
}
"""


async def test_a_page_of_requests_costs_the_same_statements_whatever_its_size(
    server: Server, world: World
) -> None:
    from tests.schema.cards.support_limits import branch_gid

    for _ in range(6):
        holder = await cardholder(server, world, branch="SH-PD")
        await request(server, holder.card, holder.token)
    token = staff(server, world, "risk_officer")
    variables: dict[str, Any] = {"first": 1, "branch": branch_gid(world, "SH-PD")}
    await server.graphql(PAGE, variables, token=token)  # warm-up
    counts = []
    for size in (1, 3, 6):
        body, statements = await server.count_statements(
            PAGE, {**variables, "first": size}, token=token
        )
        assert "errors" not in body, body
        assert len(body["data"]["creditLimitRequests"]["edges"]) == size
        counts.append(statements)
    # requests + count + cards + pending requests + histories, whatever the page size
    assert counts == [5, 5, 5]
