"""The per-process tier catalogue: one statement while fresh, a reload once stale."""

from __future__ import annotations

from core.request_database import RequestDatabase
from resolvers.growth.tier_catalogue import TierCatalogue
from tests.conftest import Server
from tests.support import World


async def _statements_for(server: Server, catalogue: TierCatalogue, times: int) -> int:
    database = server.state.database
    before = database.statements_executed
    async with database.session() as session:
        db = RequestDatabase(session)
        for _ in range(times):
            tiers = await catalogue.by_id(db)
            assert {tier.code for tier in tiers.values()} >= {"standard", "gold", "diamond"}
    return database.statements_executed - before


async def test_a_fresh_catalogue_answers_without_a_statement(server: Server, world: World) -> None:
    assert await _statements_for(server, TierCatalogue(keep_seconds=60), times=3) == 1


async def test_a_catalogue_kept_for_no_time_reloads_every_time(
    server: Server, world: World
) -> None:
    assert await _statements_for(server, TierCatalogue(keep_seconds=0), times=3) == 3
