"""Persisted operations are planned at start-up, for every role's usual caller: the first
request of one makes no plan (the planner's counter does not move) and is answered by its
SQL plan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from api import metrics
from bench.workloads import document, w1_variables
from tests.api.admission.test_persisted import apollo_manifest
from tests.api.compiled.test_both_executors import _answered_by
from tests.conftest import Server, customer_token, staff_token
from tests.security.conftest import running_app, variant
from tests.support import World

W1 = document("W1")


def _plans_made() -> dict[str, float]:
    return {
        when: metrics.SQL_PLANS.labels(when=when)._value.get() for when in ("ahead", "first use")
    }


@pytest.fixture(scope="module")
async def with_manifest(
    server: Server, settings: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, dict[str, float], dict[str, float]]]:
    folder = tmp_path_factory.mktemp("planned-ahead")
    (folder / "apollo.json").write_bytes(orjson.dumps(apollo_manifest(W1)))
    before = _plans_made()
    listed = variant(settings, persisted_manifests={"default": folder / "apollo.json"})
    async with running_app(listed) as app:
        yield app, before, _plans_made()


async def test_start_up_plans_each_persisted_operation_for_every_roles_usual_caller(
    with_manifest: tuple[Server, dict[str, float], dict[str, float]],
) -> None:
    _, before, started = with_manifest
    assert started["ahead"] - before["ahead"] >= 7  # six staff roles and the customer at least
    assert started["first use"] == before["first use"]


@pytest.mark.parametrize("who", ["demo-agent", "demo-supervisor", "demo-admin", "customer"])
async def test_the_first_request_of_a_persisted_operation_makes_no_plan_and_runs_planned(
    with_manifest: tuple[Server, dict[str, float], dict[str, float]], world: World, who: str
) -> None:
    app, _, _ = with_manifest
    token = (
        customer_token(app, world.alice.id) if who == "customer" else staff_token(app, world, who)
    )
    plans, answered = _plans_made(), _answered_by()

    body = (await app.post(W1, w1_variables(), token=token)).json()

    assert "errors" not in body, body
    assert body["data"]["customers"]["edges"]
    assert _plans_made() == plans
    after = _answered_by()
    assert [name for name in after if after[name] != answered[name]] == ["planned"]


async def test_with_the_planner_switched_off_w1_runs_on_the_compiled_executor(
    server: Server, settings: Any, world: World
) -> None:
    async with running_app(variant(settings, sql_planner=False)) as app:
        answered = _answered_by()
        body = (
            await app.post(W1, w1_variables(), token=staff_token(app, world, "demo-agent"))
        ).json()
        after = _answered_by()
    assert body["data"]["customers"]["edges"]
    assert [name for name in after if after[name] != answered[name]] == ["compiled"]
