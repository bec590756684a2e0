"""The erasure queue reads a page of requests with their customers and current legal holds
in a fixed number of statements, however many requests the page holds (no N+1)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from models.growth.tier import Tier
from tests.conftest import Server, customer_token, staff_token
from tests.resolvers.privacy.support_erasure import add_customer
from tests.support import World

QUEUE = """
query($first: Int!) {
  erasureRequests(status: PENDING, first: $first) {
    totalCount
    edges { node { id legalHolds customer { id erasedAt cards { status } } } }
  }
}
"""
REQUEST = "mutation { requestErasure { erasureRequest { id } userErrors { code } } }"


async def test_a_page_of_requests_costs_the_same_statements_as_one(
    server: Server, world: World
) -> None:
    async with server.state.database.session() as session:
        tier = (await session.scalars(select(Tier).where(Tier.code == "standard"))).one()
    for _ in range(3):
        built = await add_customer(
            server.state.database,
            server.state.key_ring,
            (world.branches["BJ-CY"].id, tier.id),
            seed=uuid.uuid4().int % 10**9,
        )
        asked = await server.graphql(REQUEST, token=customer_token(server, built.id))
        assert asked["data"]["requestErasure"]["userErrors"] == []
    supervisor = staff_token(server, world, "demo-supervisor")
    await server.graphql(QUEUE, {"first": 1}, token=supervisor)  # warm the caches

    one, one_count = await server.count_statements(QUEUE, {"first": 1}, token=supervisor)
    three, three_count = await server.count_statements(QUEUE, {"first": 3}, token=supervisor)

    assert len(one["data"]["erasureRequests"]["edges"]) == 1
    assert len(three["data"]["erasureRequests"]["edges"]) == 3
    assert three["data"]["erasureRequests"]["totalCount"] >= 3
    assert one_count == three_count
