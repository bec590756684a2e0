"""Before any server starts (bench/preparation.py): the customers are evaluated once, the
plain twins follow the evaluation, and a reused database keeps both when they still match.
The W2 customer the fixtures pick is then recommended offers, by cardcrm and by the twins'
SQL alike (what PostGraphile's W2 shows)."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from bench.dataset import Sizes, build_database
from bench.fixtures import make_fixtures
from bench.plain_twins import asyncpg_dsn
from bench.postgraphile import customer_uuid
from bench.preparation import evaluate, has_metrics, plain_twins, twins_match
from core.database import Database
from core.settings import Environment, Settings
from tests.support import create_postgres_database, drop_postgres_database, postgres_admin_url

SCALE = 0.002  # 200 customers, 10 offers


@dataclass(frozen=True)
class Built:
    url: str
    master_key: str


@pytest.fixture(scope="module")
async def built() -> AsyncIterator[Built]:
    """A small benchmark dataset as ``bench.databases`` leaves it: not evaluated, no twins."""
    admin = postgres_admin_url()
    if admin is None:
        pytest.skip("PostgreSQL is not reachable")
    name = f"cardcrm_prep_{uuid.uuid4().hex[:10]}"
    url = create_postgres_database(admin, name)
    master_key = base64.b64encode(os.urandom(32)).decode()
    try:
        await build_database(url, master_key, Sizes().scaled(SCALE))
        yield Built(url, master_key)
    finally:
        drop_postgres_database(admin, name)


async def _execute(url: str, statement: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def test_the_customers_are_evaluated_once_and_the_twins_follow(built: Built) -> None:
    # a fresh dataset has no metrics and no twins
    assert not await has_metrics(built.url)
    assert not await twins_match(built.url)

    first = await evaluate(built.url, built.master_key)
    assert first.ran
    assert first.detail == "200 customers as of 2026-01-01"
    assert await has_metrics(built.url)
    twins = await plain_twins(built.url, built.master_key, rebuild=first.ran)
    assert twins.ran
    assert await twins_match(built.url)

    # reused: neither is done again
    again = await evaluate(built.url, built.master_key)
    assert (again.ran, again.detail) == (False, "customer_metrics already there (reused database)")
    kept = await plain_twins(built.url, built.master_key, rebuild=again.ran)
    assert (kept.ran, kept.detail) == (False, "kept from an earlier run (reused database)")

    # twins that no longer match the public tables are rebuilt
    await _execute(
        built.url,
        "DELETE FROM plain.customer_metrics WHERE ctid IN "
        "(SELECT ctid FROM plain.customer_metrics LIMIT 1)",
    )
    assert not await twins_match(built.url)
    rebuilt = await plain_twins(built.url, built.master_key, rebuild=False)
    assert rebuilt.ran
    assert await twins_match(built.url)


async def test_the_w2_customer_is_recommended_offers_by_cardcrm_and_by_the_twins(
    built: Built, tmp_path: Path
) -> None:
    # given the prepared database (idempotent if the test above ran first)
    await plain_twins(
        built.url, built.master_key, rebuild=(await evaluate(built.url, built.master_key)).ran
    )
    settings = Settings(
        environment=Environment.DEVELOPMENT,
        database_url=built.url,
        var_dir=tmp_path,
        master_key=built.master_key,
    )
    database = Database(built.url)
    try:
        fixtures = await make_fixtures(database, settings)
    finally:
        await database.dispose()
    assert fixtures.recommended_offers > 0
    connection = await asyncpg.connect(asyncpg_dsn(built.url))
    try:
        ours = await connection.fetchval(
            "SELECT count(*) FROM plain.customers c,"
            " plain.customers_recommended_offers(c) r WHERE c.id = $1",
            customer_uuid(fixtures.customer_id),
        )
        branch = await connection.fetchval(
            "SELECT branch_id FROM plain.customers WHERE id = $1",
            customer_uuid(fixtures.customer_id),
        )
    finally:
        await connection.close()
    assert ours == fixtures.recommended_offers
    assert branch == fixtures.branch_id
