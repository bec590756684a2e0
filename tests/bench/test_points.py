"""``python -m bench points`` at a small scale, on the test run's backend: every bench
purchase earns one entry, the second pass posts nothing, and the figures add up."""

from __future__ import annotations

import os

from bench.evaluation import DEFAULT_POSTGRES
from bench.evaluation_data import Volume
from bench.points import bench
from tests.support import postgres_admin_url


async def test_the_points_bench_posts_each_purchase_once() -> None:
    backend = os.environ.get("CARDCRM_TEST_DATABASE", "sqlite")
    postgres = postgres_admin_url() or DEFAULT_POSTGRES
    result = await bench(backend, Volume(100, 150, 2000), postgres, batch=300)
    assert result.transactions > 1000
    # Every bench amount is at least 1 yuan and every tier multiplies by 1x or more.
    assert result.entries == result.transactions
    assert result.points >= result.transactions
    assert result.again_posted == 0
    assert str(result.transactions) in result.line().replace(",", "")
