"""``analytics.risk`` answered by the compiled executor and by the standard one: the
responses must be identical for every role, refusals included (as
tests/api/compiled/test_both_executors.py holds the benchmark workloads to)."""

from __future__ import annotations

import pytest

from tests.api.compiled.test_both_executors import _both, planned_or
from tests.conftest import Server, customer_token, staff_token
from tests.resolvers.analytics.test_risk import APRIL_VARIABLES, RISK_KPIS
from tests.support import DEMO_STAFF, World


@pytest.mark.parametrize("role", [*sorted(DEMO_STAFF), "customer"])
async def test_the_risk_kpis_are_the_same_from_both_executors(
    server: Server, standard: Server, world: World, role: str
) -> None:
    token = (
        customer_token(server, world.alice.id)
        if role == "customer"
        else staff_token(server, world, DEMO_STAFF[role])
    )
    compiled, reference, executor = await _both(server, standard, RISK_KPIS, APRIL_VARIABLES, token)
    assert compiled == reference
    assert executor in planned_or(reference), reference
    readable = role in {"admin", "supervisor", "risk_officer", "auditor"}
    assert ("errors" in reference) is not readable, reference
