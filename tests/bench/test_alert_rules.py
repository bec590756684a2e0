"""The alert-rules benchmark (``python -m bench.alert_rules``) at a small scale on the test
backend: it loads the data with its fraud patterns, the first scan raises the planted alerts
over every purchase, and the second raises none."""

from __future__ import annotations

import os

import pytest

from bench.alert_rules import bench
from bench.evaluation import DEFAULT_POSTGRES
from bench.evaluation_data import Volume
from tests.support import postgres_admin_url

pytestmark = pytest.mark.slow


async def test_the_benchmark_raises_the_planted_alerts_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    backend = os.environ.get("CARDCRM_TEST_DATABASE", "sqlite")
    postgres = postgres_admin_url() or DEFAULT_POSTGRES

    result = await bench(backend, Volume(customers=300, cards=400, transactions=3_000), postgres)

    assert result.first is not None
    assert result.second is not None
    assert result.first.checked == result.transactions  # every row is a purchase
    assert result.by_rule["velocity"] >= 4  # a burst on 1% of the 400 cards
    assert 1 <= result.by_rule["foreign_currency"] <= 4  # 4 cards' customers
    assert result.by_rule["amount_spike"] >= 1
    assert result.first.raised == sum(result.by_rule.values())
    assert result.second.raised == 0
    assert "second scan" in capsys.readouterr().out
