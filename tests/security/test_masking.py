"""An unexpected failure reaches the caller as INTERNAL_SERVER_ERROR with the request id and
nothing else: no SQL, no stack, no clear C2 value, in the response or in any log line (SPEC
§4). The failure here is real: a table the resolvers read is renamed under a running app.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import text
from sqlmodel import select

from api.demo.seed import seed_demo
from core.errors import INTERNAL_ERROR_MESSAGE
from core.identity import Role
from models.growth.tier import Tier
from models.organisation.organisation import Branch
from tests.conftest import Server
from tests.models.conftest import FreshDatabase, fresh_database, make_database
from tests.security.conftest import running_app
from tests.support import ALICE, _add_known

__all__ = ["fresh_database", "make_database"]

CUSTOMERS = "{ customers(first: 5) { edges { node { name phone idNumber cards { pan } } } } }"
LEAKS = ("SELECT", "cards_", "Traceback", 'File "', "sqlalchemy", "sqlite3", "asyncpg")


async def _seed_with_alice(app: Server) -> None:
    async with app.state.database.session() as session:
        await seed_demo(session, app.state.key_ring, customers=2, seed=3)
        branch = (await session.scalars(select(Branch).limit(1))).one()
        tier = (await session.scalars(select(Tier).limit(1))).one()
    await _add_known(app.state, ALICE, branch, tier)


async def test_a_failing_resolver_is_masked_in_the_response_and_the_logs(
    fresh_database: FreshDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_app(fresh_database.settings) as app:
        await _seed_with_alice(app)
        async with app.state.database.engine.begin() as connection:
            await connection.execute(text("ALTER TABLE cards RENAME TO cards_moved"))
        token = app.state.tokens.issue(
            subject=str(uuid.uuid4()), role=Role.ADMIN, client_id="cardcrm-console"
        )
        response = await app.post(CUSTOMERS, token=token, headers={"X-Request-ID": "masked-0001"})
    errors = response.json()["errors"]
    assert response.status_code == 200
    assert {error["message"] for error in errors} == {INTERNAL_ERROR_MESSAGE}
    assert {error["extensions"]["code"] for error in errors} == {"INTERNAL_SERVER_ERROR"}
    assert {error["extensions"]["requestId"] for error in errors} == {"masked-0001"}
    logged = "\n".join(
        f"{record.getMessage()} {record.exc_info or ''} {record.stack_info or ''}"
        for record in caplog.records
    )
    assert "masked-0001" in logged  # the failure was logged, by its request id
    clear = (ALICE.name, ALICE.phone, ALICE.id_number, ALICE.cards[0].pan)
    for secret in (*LEAKS, *clear):
        assert secret not in response.text, secret
        assert secret not in logged, secret
