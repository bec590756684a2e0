"""``python -m bench customers_import`` at a small scale, on the test run's backend: the
generated file holds each national ID and card number once and imports whole through the
real command, a re-run imports nothing, and the figures are measured."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from bench.customers_import import _quarters, runs, write_file
from bench.evaluation import DEFAULT_POSTGRES
from models.customers.identifiers import normalize_national_id, normalize_pan
from tests.support import postgres_admin_url

pytestmark = pytest.mark.slow


def test_the_generated_file_draws_each_identifier_once(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    cards = write_file(path, 3000)
    with path.open() as written:
        rows = list(csv.DictReader(written))
    ids = [row["id_number"] for row in rows]
    pans = [row[name] for row in rows for name in ("card1_pan", "card2_pan") if row[name]]
    assert (len(rows), cards, len(pans)) == (3000, 4500, 4500)
    assert len(set(ids)) == len(ids)
    assert len(set(pans)) == len(pans)
    assert all(normalize_national_id(value) == value for value in ids[:200])
    assert all(normalize_pan(value) == value for value in pans[:200])


async def test_the_import_bench_imports_the_file_once_and_measures_it(tmp_path: Path) -> None:
    backend = os.environ.get("CARDCRM_TEST_DATABASE", "sqlite")
    postgres = postgres_admin_url() or DEFAULT_POSTGRES
    first, again = await runs(backend, postgres, 200, tmp_path, again=True)
    assert "200 imported with 300 cards, 0 already present, 0 rejected" in first.summary
    assert "0 imported with 0 cards, 200 already present, 0 rejected" in again.summary
    for run in (first, again):
        assert run.seconds > 0
        assert run.cpu_seconds > 0
        assert run.peak_rss_mb > 50
        assert "200 customers, 300 cards" in run.line()


def test_memory_quarters_hold_the_peak_of_each_quarter_and_survive_a_short_run() -> None:
    assert _quarters([1.0, 5.0, 2.0, 3.0, 9.0, 4.0, 6.0, 7.0]) == [5.0, 3.0, 9.0, 7.0]
    # A run over before the fourth sample (an idle machine imports 200 customers that fast).
    assert _quarters([150.0, 152.0]) == [150.0, 152.0]
    assert _quarters([]) == []
