"""Surveys over HTTP: ``mySurveys``, ``answerSurvey`` and ``Customer.surveys``, per role.

Given a customer whose complaint an agent resolved, when the customer answers in the app,
then the answer is recorded once (again: CONFLICT), not after expiry (SURVEY_EXPIRED), never
for another customer's survey (NOT_FOUND), with the score in 0–10 and a length-checked comment
that is sealed and audited; staff who serve the customer read the surveys, the comment clear
for supervisors, admins and auditors and masked for agents; marketers, risk officers and
merchants read none.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from models.audit.audit import AuditEntry
from models.outreach.survey import Survey
from resolvers.customers.input import Consent
from resolvers.outreach.surveys import ANSWER_ACTION, REFUSED_ACTION
from schema.relay import to_global_id, uuid_of
from tests.conftest import Server, customer_token, staff_token
from tests.resolvers.outreach.survey_support import resolved_complaint, surveys_of
from tests.support import DEMO_STAFF, World, add_customer
from tests.support_offers import add_merchant, merchant_token

MINE = "{ mySurveys { id question expiresAt score answeredAt complaintId } }"
ANSWER = """
mutation($input: AnswerSurveyInput!) {
  answerSurvey(input: $input) {
    survey { id score comment answeredAt }
    userErrors { field code message }
  }
}
"""
OF_CUSTOMER = "query($id: ID!) { customer(id: $id) { id surveys { id score comment } } }"
MY_HISTORY = "{ me { surveys { id score comment } } }"
COMMENT = "处理很及时，客服态度很好"


async def _surveyed(server: Server, world: World) -> tuple[uuid.UUID, str]:
    """A customer of branch BJ-CY and the ID of their survey after a resolved complaint."""
    customer_id = await add_customer(server.state, world, consent=Consent(push=True))
    complaint = await resolved_complaint(
        server.state,
        customer_id,
        staff_id=world.staff["demo-agent"].id,
        branch_id=world.branches["BJ-CY"].id,
    )
    (survey,) = await surveys_of(server.state, complaint.id)
    return customer_id, to_global_id("Survey", survey.id)


async def _answer(
    server: Server, token: str, survey_id: str, score: int = 9, comment: str | None = COMMENT
) -> dict[str, Any]:
    variables = {"input": {"surveyId": survey_id, "score": score, "comment": comment}}
    body = await server.graphql(ANSWER, variables, token=token)
    assert "errors" not in body, body
    return dict(body["data"]["answerSurvey"])


def _codes(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def _audit(server: Server, survey_id: str) -> list[tuple[str, Any]]:
    raw = survey_id_uuid(survey_id)
    async with server.state.database.session() as session:
        rows = await session.scalars(
            select(AuditEntry)
            .where(col(AuditEntry.target_id) == str(raw))
            .order_by(col(AuditEntry.seq))
        )
        return [(row.action, row.details) for row in rows]


def survey_id_uuid(survey_id: str) -> uuid.UUID:
    return uuid_of(survey_id, "Survey")


# The customer in the app --------------------------------------------------------------------


async def test_the_customer_lists_an_open_survey_answers_it_once_and_it_leaves_the_list(
    server: Server, world: World
) -> None:
    customer_id, survey_id = await _surveyed(server, world)
    token = customer_token(server, customer_id)

    listed = (await server.graphql(MINE, token=token))["data"]["mySurveys"]
    assert [s["id"] for s in listed] == [survey_id]
    assert listed[0]["score"] is None
    assert listed[0]["complaintId"].startswith("Q29tcGxhaW50")  # a Complaint ID

    answered = await _answer(server, token, survey_id, score=9)
    assert answered["userErrors"] == []
    assert (answered["survey"]["score"], answered["survey"]["comment"]) == (9, COMMENT)
    assert answered["survey"]["answeredAt"] is not None
    assert (await server.graphql(MINE, token=token))["data"]["mySurveys"] == []

    again = await _answer(server, token, survey_id, score=3)
    assert _codes(again) == [("surveyId", "CONFLICT")]
    history = (await server.graphql(MY_HISTORY, token=token))["data"]["me"]["surveys"]
    assert history == [{"id": survey_id, "score": 9, "comment": COMMENT}]
    assert await _audit(server, survey_id) == [
        (ANSWER_ACTION, {"score": 9}),
        (REFUSED_ACTION, {"code": "CONFLICT"}),
    ]


async def test_the_comment_is_sealed_at_rest(server: Server, world: World) -> None:
    customer_id, survey_id = await _surveyed(server, world)
    await _answer(server, customer_token(server, customer_id), survey_id)

    async with server.state.database.session() as session:
        row = await session.get(Survey, survey_id_uuid(survey_id))
    assert row is not None
    assert row.comment_enc is not None
    assert COMMENT.encode() not in row.comment_enc


async def test_an_expired_survey_is_refused_with_its_own_code_and_nothing_recorded(
    server: Server, world: World
) -> None:
    customer_id, survey_id = await _surveyed(server, world)
    async with server.state.database.session() as session:
        await session.execute(
            update(Survey)
            .where(col(Survey.id) == survey_id_uuid(survey_id))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        await session.commit()
    token = customer_token(server, customer_id)

    assert (await server.graphql(MINE, token=token))["data"]["mySurveys"] == []
    refused = await _answer(server, token, survey_id)
    assert _codes(refused) == [("surveyId", "SURVEY_EXPIRED")]
    assert refused["survey"] is None
    history = (await server.graphql(MY_HISTORY, token=token))["data"]["me"]["surveys"]
    assert history == [{"id": survey_id, "score": None, "comment": None}]


async def test_another_customers_survey_is_not_found(server: Server, world: World) -> None:
    _, survey_id = await _surveyed(server, world)

    other = await _answer(server, customer_token(server, world.bob.id), survey_id)
    assert _codes(other) == [("surveyId", "NOT_FOUND")]


@pytest.mark.parametrize(
    ("score", "comment", "field"),
    [(11, None, "score"), (-1, None, "score"), (7, "很" * 1001, "comment")],
)
async def test_a_score_outside_0_to_10_or_a_long_comment_is_bad_input(
    server: Server, world: World, score: int, comment: str | None, field: str
) -> None:
    customer_id, survey_id = await _surveyed(server, world)
    token = customer_token(server, customer_id)

    refused = await _answer(server, token, survey_id, score=score, comment=comment)
    assert _codes(refused) == [(field, "BAD_USER_INPUT")]
    assert [s["id"] for s in (await server.graphql(MINE, token=token))["data"]["mySurveys"]] == [
        survey_id
    ]


@pytest.mark.parametrize("role", sorted(DEMO_STAFF))
async def test_staff_neither_list_open_surveys_nor_answer_them(
    server: Server, world: World, role: str
) -> None:
    _, survey_id = await _surveyed(server, world)
    token = staff_token(server, world, DEMO_STAFF[role])

    listed = await server.graphql(MINE, token=token)
    assert listed["data"]["mySurveys"] is None
    assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert _codes(await _answer(server, token, survey_id)) == [(None, "FORBIDDEN")]


async def test_merchants_neither_list_nor_answer_surveys(server: Server, world: World) -> None:
    _, survey_id = await _surveyed(server, world)
    token = merchant_token(server.state, await add_merchant(server.state, "调查商户"))

    listed = await server.graphql(MINE, token=token)
    assert listed["data"]["mySurveys"] is None
    assert _codes(await _answer(server, token, survey_id)) == [(None, "FORBIDDEN")]


# Staff reading a customer's surveys ---------------------------------------------------------


@pytest.mark.parametrize("role", ["supervisor", "admin", "auditor", "agent"])
async def test_staff_who_serve_the_customer_read_surveys_with_the_comment_per_policy(
    server: Server, world: World, role: str
) -> None:
    customer_id, survey_id = await _surveyed(server, world)
    await _answer(server, customer_token(server, customer_id), survey_id, score=10)
    token = staff_token(server, world, DEMO_STAFF[role])

    body = await server.graphql(
        OF_CUSTOMER, {"id": to_global_id("Customer", customer_id)}, token=token
    )
    assert "errors" not in body, body
    (survey,) = body["data"]["customer"]["surveys"]
    assert (survey["id"], survey["score"]) == (survey_id, 10)
    if role == "agent":
        assert set(survey["comment"]) == {"*"}  # masked
    else:
        assert survey["comment"] == COMMENT


@pytest.mark.parametrize("role", ["marketer", "risk_officer"])
async def test_marketers_and_risk_officers_read_no_individual_survey(
    server: Server, world: World, role: str
) -> None:
    customer_id, _ = await _surveyed(server, world)
    token = staff_token(server, world, DEMO_STAFF[role])

    body = await server.graphql(
        OF_CUSTOMER, {"id": to_global_id("Customer", customer_id)}, token=token
    )
    assert body["data"]["customer"]["surveys"] is None
    (error,) = body["errors"]
    assert (error["path"], error["extensions"]["code"]) == (["customer", "surveys"], "FORBIDDEN")


async def test_an_agent_of_another_branch_sees_no_such_customer(
    server: Server, world: World
) -> None:
    customer_id, _ = await _surveyed(server, world)
    token = staff_token(server, world, "demo-agent-b")

    body = await server.graphql(
        OF_CUSTOMER, {"id": to_global_id("Customer", customer_id)}, token=token
    )
    assert body["data"]["customer"] is None


async def test_surveys_of_a_page_of_customers_load_in_one_query(
    server: Server, world: World
) -> None:
    page = "query($n: Int) { customers(first: $n) { edges { node { id surveys { id } } } } }"
    token = staff_token(server, world, "demo-supervisor")
    counts = []
    for size in (2, 10):
        body, statements = await server.count_statements(page, {"n": size}, token=token)
        assert "errors" not in body, body
        assert len(body["data"]["customers"]["edges"]) == size
        counts.append(statements)
    assert counts[0] == counts[1], counts
