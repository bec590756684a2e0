"""Expiring points, oldest spent first (resolvers/loyalty/expiry.py), hand-counted.

Given earn entries of several years and some spending, when the expiry runs on a day, then
each customer loses what is left of the points whose validity ended before that day after
every debit took the oldest points first; a second run of the day posts nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from models.loyalty.ledger import PointsEntry, PointsKind
from resolvers.loyalty.expiry import expire_points
from tests.conftest import Server
from tests.resolvers.loyalty.support import Holder, import_lines, kinds_and_points, line, new_holder
from tests.support import World

EXPIRE = PointsKind.EXPIRE.value


async def _spend(server: Server, holder: Holder, points: int, when: datetime) -> None:
    """A debit the way a redemption posts one (without its reward: not what is tested here)."""
    async with server.state.database.session() as session:
        session.add(
            PointsEntry(
                customer_id=holder.customer_id,
                kind=PointsKind.REDEEM.value,
                points=-points,
                occurred_at=when,
                natural_key=f"test-spend:{uuid.uuid4()}",
            )
        )
        await session.commit()


async def _expire(server: Server, day: str) -> None:
    async with server.state.database.session() as session:
        await expire_points(session, as_of=date.fromisoformat(day), settings=server.state.settings)
        await session.commit()


async def _expired(server: Server, holder: Holder) -> list[int]:
    entries = await kinds_and_points(server.state, holder.customer_id)
    return [points for kind, points in entries if kind == EXPIRE]


async def test_expiry_takes_what_is_left_of_the_oldest_points_year_by_year(
    server: Server, world: World
) -> None:
    holder = await new_holder(server.state, world)
    await import_lines(
        server.state,
        line(holder, "100.00", time="2023-05-01T09:00:00+08:00"),  # valid to the end of 2025
        line(holder, "50.00", time="2024-05-01T09:00:00+08:00"),  # valid to the end of 2026
    )
    await _spend(server, holder, 30, datetime(2025, 3, 1, tzinfo=UTC))  # takes 30 of 2023's

    await _expire(server, "2025-12-31")  # 2023's are still valid on the last day
    assert await _expired(server, holder) == []
    await _expire(server, "2026-01-01")  # 100 − 30 = 70
    assert await _expired(server, holder) == [-70]
    await _expire(server, "2026-01-01")  # the same day again: nothing
    await _expire(server, "2026-06-01")  # nothing more expired since
    assert await _expired(server, holder) == [-70]
    await _expire(server, "2027-01-01")  # 150 − (30 + 70) = 50
    assert await _expired(server, holder) == [-70, -50]
    assert sum(p for _, p in await kinds_and_points(server.state, holder.customer_id)) == 0


async def test_spending_beyond_the_old_points_protects_the_newer_ones(
    server: Server, world: World
) -> None:
    holder = await new_holder(server.state, world)
    await import_lines(
        server.state,
        line(holder, "40.00", time="2023-02-01T09:00:00+08:00"),  # 40, to the end of 2025
        line(holder, "60.00", time="2025-02-01T09:00:00+08:00"),  # 60, to the end of 2027
    )
    # 50 spent: all 40 of 2023 and 10 of 2025, so nothing is left to expire in 2026.
    await _spend(server, holder, 50, datetime(2025, 6, 1, tzinfo=UTC))
    await _expire(server, "2026-01-02")
    assert await _expired(server, holder) == []
    await _expire(server, "2028-01-01")  # 100 − 50 = 50 of 2025's
    assert await _expired(server, holder) == [-50]


async def test_a_customer_with_nothing_expired_gets_no_entry(server: Server, world: World) -> None:
    holder = await new_holder(server.state, world)
    await import_lines(server.state, line(holder, "10.00", time="2026-05-01T09:00:00+08:00"))
    await _expire(server, "2026-06-01")
    assert await _expired(server, holder) == []
