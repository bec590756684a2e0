"""Several instances behind a load balancer act as one.

Given two instances of the app on the same database and the same Redis (in CI: PostgreSQL and
Redis), when a client registers a persisted query, spends its rate limit or revokes a token
on one of them, then the other one knows at once.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from core.identity import Role
from core.settings import Settings
from tests.api.admission.test_persisted import REDIS_URL, apq, redis_or_skip, send
from tests.conftest import Server
from tests.security.conftest import running_app, variant
from tests.support import World, add_oauth_client, client_credentials_token

QUERY = "query Tiers{suffix} {{ tiers {{ code }} }}"


@pytest.fixture
async def two_instances(settings: Settings) -> AsyncIterator[tuple[Server, Server]]:
    await redis_or_skip()
    shared = variant(
        settings,
        redis_url=REDIS_URL,
        persisted_key_prefix=f"cardcrm-test:{uuid.uuid4().hex[:10]}:pq:",
        rate_limits_enabled=True,
        graphql_rate_burst=3,
        graphql_rate_per_second=0.01,
    )
    async with running_app(shared) as one, running_app(shared) as two:
        yield one, two


def _staff_token(server: Server, world: World) -> str:
    """An agent token of its own subject, so its rate-limit bucket starts full."""
    agent = world.staff["demo-agent"]
    return server.state.tokens.issue(
        subject=str(uuid.uuid4()),
        role=Role.AGENT,
        client_id="cardcrm-console",
        branch_id=agent.branch_id,
    )


async def test_a_query_persisted_on_one_instance_runs_by_hash_on_the_other(
    two_instances: tuple[Server, Server], world: World
) -> None:
    one, two = two_instances
    token = _staff_token(one, world)
    text = QUERY.format(suffix=uuid.uuid4().hex)
    registered = await send(one, token, query=text, extensions=apq(text))
    found = await send(two, token, extensions=apq(text), get=True)
    assert registered.status_code == found.status_code == 200
    assert found.json()["data"] == registered.json()["data"]


async def test_one_rate_limit_bucket_is_spent_across_both_instances(
    two_instances: tuple[Server, Server], world: World
) -> None:
    one, two = two_instances
    token = _staff_token(one, world)
    text = QUERY.format(suffix="")
    statuses = [
        (await send(server, token, query=text)).status_code for server in (one, two, one, two)
    ]
    assert statuses == [200, 200, 200, 429]  # a burst of 3, whichever instance answers


async def test_a_token_revoked_on_one_instance_is_refused_by_the_other(
    two_instances: tuple[Server, Server],
) -> None:
    one, two = two_instances
    credentials = await add_oauth_client(
        one.state, scopes="offers:read", merchant=f"两地商户 {uuid.uuid4().hex[:6]}"
    )
    token = await client_credentials_token(one.client, credentials)
    query = "{ merchantOffers(first: 1) { totalCount } }"
    assert (await two.post(query, token=token)).status_code == 200
    revoked = await one.client.post(
        "/oauth/revoke",
        data={"token": token},
        auth=(credentials.client.client_id, credentials.client_secret),
    )
    assert revoked.status_code == 200
    refused = await two.post(query, token=token)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
