"""NPS beside CSAT in ``analytics.service``.

Given answered surveys in a range of their own (a past week nobody else writes in), when
staff read the service KPIs, then responses, promoters (9–10), passives (7–8), detractors
(0–6) and the score (% promoters − % detractors) count them, per branch; marketers see them
only when every group of respondents is at least the minimum group size; and a survey the
customer answers in the app moves NPS.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.outreach.survey import Survey
from resolvers.customers.input import Consent
from schema.relay import to_global_id
from tests.conftest import Server, customer_token, staff_token
from tests.resolvers.outreach.survey_support import resolved_complaint, surveys_of
from tests.support import World, add_customer

NPS = """
query($range: DateRangeInput!, $branch: ID) {
  analytics { service(range: $range, branch: $branch) {
    nps { responses promoters passives detractors score suppressed }
  } }
}
"""


# Weeks of the 1990s in a random order: each test takes its own, which nobody else writes in.
_WEEKS = iter(random.sample(range(500), 500))


def _week() -> tuple[datetime, datetime]:
    start = datetime(1991, 1, 7, tzinfo=UTC) + timedelta(weeks=next(_WEEKS))
    return start, start + timedelta(days=7)


async def _answered(
    server: Server, world: World, at: datetime, scores: list[int], branch: str = "BJ-CY"
) -> None:
    """One answered survey per score, each of a different fresh customer."""
    for score in scores:
        customer_id = await add_customer(server.state, world, branch=branch)
        async with server.state.database.session() as session:
            session.add(
                Survey(
                    customer_id=customer_id,
                    branch_id=world.branches[branch].id,
                    question="推荐度",
                    expires_at=at + timedelta(days=14),
                    score=score,
                    answered_at=at,
                    created_at=at,
                )
            )
            await session.commit()


async def _nps(
    server: Server, world: World, user: str, week: tuple[datetime, datetime], branch: Any = None
) -> dict[str, Any]:
    variables = {
        "range": {"from": week[0].isoformat(), "to": week[1].isoformat()},
        "branch": branch,
    }
    body = await server.graphql(NPS, variables, token=staff_token(server, world, user))
    assert "errors" not in body, body
    return dict(body["data"]["analytics"]["service"]["nps"])


async def test_nps_counts_promoters_passives_and_detractors_per_branch(
    server: Server, world: World
) -> None:
    week = _week()
    at = week[0] + timedelta(days=1)
    await _answered(server, world, at, [10, 9, 9, 8, 7, 6, 0, 10])  # 4 P, 2 passive, 2 D
    await _answered(server, world, at, [0, 0], branch="SH-PD")

    everywhere = await _nps(server, world, "demo-admin", week)
    assert everywhere == {
        "responses": 10,
        "promoters": 4,
        "passives": 2,
        "detractors": 4,
        "score": pytest.approx(0.0),
        "suppressed": False,
    }
    beijing = await _nps(server, world, "demo-supervisor", week)  # the supervisor's branch
    assert beijing["responses"] == 8
    assert beijing["score"] == pytest.approx(100 * (4 - 2) / 8)
    shanghai = to_global_id("Branch", world.branches["SH-PD"].id)
    assert (await _nps(server, world, "demo-admin", week, shanghai))["score"] == -100.0


async def test_no_response_is_a_null_score_not_zero(server: Server, world: World) -> None:
    nps = await _nps(server, world, "demo-admin", _week())
    assert nps == {
        "responses": 0,
        "promoters": 0,
        "passives": 0,
        "detractors": 0,
        "score": None,
        "suppressed": False,
    }


async def test_marketers_see_nps_only_when_every_group_of_respondents_is_large_enough(
    server: Server, world: World
) -> None:
    size = server.state.settings.stats_min_group_size
    small, large = _week(), _week()
    await _answered(server, world, small[0], [10] * size + [0])  # one detractor
    await _answered(server, world, large[0], [10] * size + [8] * size + [0] * size)

    hidden = await _nps(server, world, "demo-marketer", small)
    assert hidden == {
        "responses": None,
        "promoters": None,
        "passives": None,
        "detractors": None,
        "score": None,
        "suppressed": True,
    }
    assert (await _nps(server, world, "demo-admin", small))["detractors"] == 1
    shown = await _nps(server, world, "demo-marketer", large)
    assert shown["responses"] == 3 * size
    assert shown["score"] == pytest.approx(0.0)
    assert shown["suppressed"] is False


async def test_an_answer_in_the_app_moves_nps(server: Server, world: World) -> None:
    now = datetime.now(UTC)
    today = (now - timedelta(hours=1), now + timedelta(hours=1))
    before = await _nps(server, world, "demo-admin", today)
    customer_id = await add_customer(server.state, world, consent=Consent(push=True))
    complaint = await resolved_complaint(
        server.state,
        customer_id,
        staff_id=world.staff["demo-agent"].id,
        branch_id=world.branches["BJ-CY"].id,
    )
    (survey,) = await surveys_of(server.state, complaint.id)
    answered = await server.graphql(
        "mutation($i: AnswerSurveyInput!) { answerSurvey(input: $i) { userErrors { code } } }",
        {"i": {"surveyId": to_global_id("Survey", survey.id), "score": 3}},
        token=customer_token(server, customer_id),
    )
    assert answered["data"]["answerSurvey"]["userErrors"] == []

    after = await _nps(server, world, "demo-admin", today)
    assert after["responses"] == before["responses"] + 1
    assert after["detractors"] == before["detractors"] + 1
    assert after["promoters"] == before["promoters"]
