"""The revocation check (``auth.revocation``): what it costs per request, that it sees every
revocation at once on every instance, and that its list is purged of expired tokens."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import uvicorn
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from auth import clients, revocation
from auth.clients import Credentials
from core.identity import Role, Scope
from models.columns import utcnow
from models.merchants.merchant import RevokedToken
from tests.conftest import Server, _free_port, customer_token, staff_token
from tests.models.conftest import FreshDatabase
from tests.support import World, add_oauth_client, client_credentials_token

TYPENAME = "{ __typename }"


async def _merchant(server: Server) -> Credentials:
    return await add_oauth_client(
        server.state, scopes="offers:read", merchant=f"Revocation {uuid.uuid4().hex[:8]}"
    )


# --- cost ---------------------------------------------------------------------------------------


async def test_a_client_token_costs_exactly_one_statement_per_request(server: Server) -> None:
    token = await client_credentials_token(server.client, await _merchant(server))

    body, statements = await server.count_statements(TYPENAME, token=token)

    assert body == {"data": {"__typename": "Query"}}
    assert statements == 1


async def test_staff_and_customer_tokens_cost_no_statement_for_revocation(
    server: Server, world: World
) -> None:
    for token in (staff_token(server, world, "demo-admin"), customer_token(server, world.alice.id)):
        body, statements = await server.count_statements(TYPENAME, token=token)

        assert body == {"data": {"__typename": "Query"}}
        assert statements == 0


async def _plan(session: AsyncSession, dialect: str) -> str:
    statement = revocation.revoked_statement(token_id="jti", client_id="merchant-x")
    sql = str(statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    if dialect == "sqlite":
        rows = await session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
        return "\n".join(str(row[-1]) for row in rows)
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    return "\n".join(row[0] for row in await session.execute(text(f"EXPLAIN {sql}")))


async def test_the_check_reads_two_unique_indexes_and_scans_no_table(server: Server) -> None:
    async with server.state.database.session() as session:
        dialect = session.get_bind().dialect.name
        plan = await _plan(session, dialect)

    if dialect == "sqlite":
        assert "SEARCH revoked_tokens USING INDEX" in plan, plan  # the jti primary key
        assert "SEARCH oauth_clients USING INDEX" in plan, plan  # the unique client_id
        assert "SCAN revoked_tokens" not in plan, plan
        assert "SCAN oauth_clients" not in plan, plan
    else:
        assert "Seq Scan" not in plan, plan
        assert "revoked_tokens_pkey" in plan, plan
        assert "oauth_clients_client_id_key" in plan, plan


# --- at once, everywhere ------------------------------------------------------------------------


async def test_a_token_of_a_client_that_does_not_exist_is_refused(server: Server) -> None:
    ghost = server.state.tokens.issue(
        subject="merchant-ghost", role=Role.MERCHANT, client_id="merchant-ghost"
    )

    response = await server.post(TYPENAME, token=ghost)

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@asynccontextmanager
async def _second_instance(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    """Another server process's worth of app on the same database, as behind a balancer."""
    config = uvicorn.Config(
        create_app(server.state.settings),
        host="127.0.0.1",
        port=_free_port(),
        log_level="warning",
        lifespan="on",
    )
    instance = uvicorn.Server(config)
    task = asyncio.create_task(instance.serve())
    while not instance.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{config.port}") as client:
            yield client
    finally:
        instance.should_exit = True
        await task


async def test_a_revocation_on_one_instance_holds_on_another_at_once(server: Server) -> None:
    credentials = await _merchant(server)
    token = await client_credentials_token(server.client, credentials)
    bearer = {"Authorization": f"Bearer {token}"}

    async with _second_instance(server) as other:
        before = await other.post("/graphql", json={"query": TYPENAME}, headers=bearer)
        revoked = await server.client.post(
            "/oauth/revoke",
            data={"token": token},
            auth=(credentials.client.client_id, credentials.client_secret),
        )
        after = await other.post("/graphql", json={"query": TYPENAME}, headers=bearer)

    assert (before.status_code, revoked.status_code, after.status_code) == (200, 200, 401)


# --- the list and its purge ---------------------------------------------------------------------


async def _listed(session: AsyncSession) -> set[str]:
    return set(await session.scalars(select(RevokedToken.jti)))


async def test_purge_removes_only_rows_whose_tokens_can_no_longer_verify(
    fresh_database: FreshDatabase,
) -> None:
    now = utcnow()
    expiries = {
        "long-expired": now - timedelta(hours=1),
        "just-expired": now - timedelta(seconds=10),  # within the verifier's leeway + margin
        "live": now + timedelta(hours=1),
    }
    async with fresh_database.database() as database, database.session() as session:
        session.add_all(
            RevokedToken(jti=jti, client_id="merchant-x", expires_at=expires_at)
            for jti, expires_at in expiries.items()
        )
        await session.commit()

        purged = await revocation.purge_expired(session)

        assert purged == 1
        assert await _listed(session) == {"just-expired", "live"}


async def test_revoking_a_token_twice_lists_it_once_and_sweeps_expired_rows(
    fresh_database: FreshDatabase,
) -> None:
    now = utcnow()
    async with fresh_database.database() as database, database.session() as session:
        session.add(
            RevokedToken(jti="old", client_id="merchant-x", expires_at=now - timedelta(days=1))
        )
        await session.commit()

        for _ in range(2):
            await revocation.revoke_token(
                session, token_id="new", client_id="merchant-x", expires_at=now + timedelta(1)
            )

        assert await _listed(session) == {"new"}
        assert await session.scalar(select(func.count()).select_from(RevokedToken)) == 1


async def test_a_revoked_clients_tokens_are_revoked_and_another_clients_are_not(
    fresh_database: FreshDatabase,
) -> None:
    actor = clients.Actor("test", "revocation")
    scopes = frozenset({Scope.OFFERS_READ})
    async with fresh_database.database() as database:
        await fresh_database.key_ring(database)  # as a server's start: creating a client is audited
        async with database.session() as session:
            merchant = await clients.create_merchant(session, name="Fresh")
            kept, dropped = [
                (
                    await clients.create_client(
                        session, actor=actor, scopes=scopes, merchant=merchant
                    )
                ).client.client_id
                for _ in range(2)
            ]

            await clients.revoke_client(session, actor=actor, client_id=dropped)

            jti = uuid.uuid4().hex
            assert await revocation.is_revoked(session, token_id=jti, client_id=dropped)
            assert not await revocation.is_revoked(session, token_id=jti, client_id=kept)
