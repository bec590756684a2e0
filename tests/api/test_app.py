"""The application around GraphQL: health probes, request ids, error shapes for bad HTTP
input, start-up checks, settings, and the ``cardcrm`` commands that prepare a deployment."""

from __future__ import annotations

import asyncio
import re
import socket
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from api.cli.schema import SDL_PATH, sdl
from api.demo.seed import seed_demo
from api.state import build_state, token_service
from core.identity import Role
from core.settings import Environment, Settings, SettingsError
from migrations import DatabaseNotMigrated
from models.cards.card import Card
from models.customer_keys import load_customer_keys
from models.customers.customer import Customer
from models.organisation.organisation import StaffUser
from models.sealing import open_field
from tests.conftest import Server, staff_token
from tests.models.conftest import FreshDatabase, MakeDatabase
from tests.support import World

# The demo's year of card use (transactions, statements) is not what these tests are about.
NO_CARD_USE = ("--purchases-per-customer", "0")

GENERATED_REQUEST_ID = r"[0-9a-f]{32}"


async def test_healthz_answers_ok(server: Server) -> None:
    response = await server.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_answers_ok_with_the_database_reachable(server: Server) -> None:
    response = await server.client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/graphql", "/no-such-page"])
async def test_every_response_carries_a_generated_request_id(server: Server, path: str) -> None:
    response = await server.client.get(path)
    assert re.fullmatch(GENERATED_REQUEST_ID, response.headers["x-request-id"])


async def test_a_well_formed_incoming_request_id_is_echoed(server: Server) -> None:
    request_id = f"gateway-{uuid.uuid4().hex[:12]}.1"
    response = await server.client.get("/healthz", headers={"X-Request-ID": request_id})
    assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize("incoming", ["short", "has spaces in it", "x" * 65, "semi;colon-1234"])
async def test_a_malformed_incoming_request_id_is_replaced(server: Server, incoming: str) -> None:
    response = await server.client.get("/healthz", headers={"X-Request-ID": incoming})
    assert re.fullmatch(GENERATED_REQUEST_ID, response.headers["x-request-id"])


async def test_a_graphql_error_carries_the_request_id_of_its_response(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-agent")
    generated = await server.post('{ customer(id: "nope") { id } }', token=token)
    supplied = await server.post(
        '{ customer(id: "nope") { id } }',
        token=token,
        headers={"X-Request-ID": "support-ticket-0042"},
    )
    for response in (generated, supplied):
        error = response.json()["errors"][0]
        assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert supplied.headers["x-request-id"] == "support-ticket-0042"


async def test_an_unauthenticated_request_gets_the_request_id_in_its_error(server: Server) -> None:
    response = await server.post("{ __typename }", headers={"X-Request-ID": "no-token-request"})
    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "requestId": "no-token-request"}


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[1, 2",
        b"\xff\xfe",
        b'"a string"',
        b"42",
        b"null",
        b"[]",
        b'[{"query": "{ __typename }"}]',
    ],
)
async def test_a_malformed_json_body_is_bad_user_input_not_a_server_error(
    server: Server, world: World, body: bytes
) -> None:
    response = await server.client.post(
        "/graphql",
        content=body,
        headers={
            "Authorization": f"Bearer {staff_token(server, world, 'demo-agent')}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]


async def test_a_graphql_syntax_error_is_graphql_parse_failed(server: Server, world: World) -> None:
    response = await server.post(
        "{ customers { totalCount ", token=staff_token(server, world, "demo-agent")
    )
    assert response.status_code < 500, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "Syntax Error" in error["message"]


async def test_an_unknown_enum_value_in_the_variables_is_bad_user_input(
    server: Server, world: World
) -> None:
    response = await server.post(
        "query ($f: CustomerFilter) { customers(filter: $f) { totalCount } }",
        {"f": {"tier": "TITANIUM"}},
        token=staff_token(server, world, "demo-agent"),
    )
    assert response.status_code < 500, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "TITANIUM" in error["message"]


async def test_building_the_server_state_on_an_unmigrated_database_names_the_fix(
    empty_database: FreshDatabase,
) -> None:
    with pytest.raises(DatabaseNotMigrated, match="run `cardcrm db upgrade`"):
        await build_state(empty_database.settings)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_cardcrm_serve_refuses_to_start_on_an_unmigrated_database(
    empty_database: FreshDatabase,
) -> None:
    served = await empty_database.run_cli("serve", "--port", str(_free_port()))
    assert served.returncode != 0
    assert "run `cardcrm db upgrade`" in served.stderr


def test_production_settings_without_a_master_key_refuse_to_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("CARDCRM_MASTER_KEY", "CARDCRM_MASTER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError, match="CARDCRM_MASTER_KEY") as refused:
        Settings(
            environment=Environment.PRODUCTION,
            database_url="postgresql://db/cardcrm",
            signing_key_file=tmp_path / "signing.pem",
        )
    assert "CARDCRM_SIGNING_KEY_FILE" not in str(refused.value)


def test_production_settings_name_every_missing_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "CARDCRM_MASTER_KEY",
        "CARDCRM_MASTER_KEY_FILE",
        "CARDCRM_SIGNING_KEY_FILE",
        "DATABASE_URL",
        "CARDCRM_DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError) as refused:
        Settings(environment=Environment.PRODUCTION)
    for name in (
        "CARDCRM_MASTER_KEY",
        "CARDCRM_SIGNING_KEY_FILE",
        "CARDCRM_AUDIT_CHECKPOINT_KEY_FILE",
        "DATABASE_URL",
    ):
        assert name in str(refused.value)


def test_complete_production_settings_load(tmp_path: Path) -> None:
    settings = Settings(
        environment=Environment.PRODUCTION,
        master_key="a" * 44,
        database_url="postgresql://db/cardcrm",
        signing_key_file=tmp_path / "signing.pem",
        audit_checkpoint_key_file=tmp_path / "audit-checkpoint.pem",
    )
    assert settings.sqlalchemy_url == "postgresql+asyncpg://db/cardcrm"
    assert not settings.is_development


async def test_a_command_under_production_settings_without_a_key_exits_naming_it(
    empty_database: FreshDatabase,
) -> None:
    production = empty_database.settings.model_copy(
        update={"environment": Environment.PRODUCTION, "master_key": None}
    )
    refused = await FreshDatabase(production).run_cli("audit", "verify")
    assert refused.returncode == 1
    assert "CARDCRM_MASTER_KEY" in refused.stderr
    assert "Traceback" not in refused.stderr


People = list[tuple[uuid.UUID, str | None, str | None, str | None, list[str]]]


async def _people(fresh: FreshDatabase) -> People:
    """Every customer's id and clear name, phone, ID number and card numbers, by id."""
    async with fresh.database() as database:
        ring = await fresh.key_ring(database)
        async with database.session() as session:
            customers = (await session.scalars(select(Customer).order_by(col(Customer.id)))).all()
            cards = (await session.scalars(select(Card))).all()
            await load_customer_keys(session, ring, [c.id for c in customers])
    pans: dict[uuid.UUID, list[str]] = {}
    for card in cards:
        pans.setdefault(card.customer_id, []).append(str(open_field(ring, card, "pan")))
    return [
        (
            c.id,
            open_field(ring, c, "name"),
            open_field(ring, c, "phone"),
            open_field(ring, c, "id_number"),
            sorted(pans.get(c.id, [])),
        )
        for c in customers
    ]


async def test_seeding_demo_data_with_the_same_seed_gives_the_same_customers(
    make_database: MakeDatabase,
) -> None:
    first, again, other = (make_database(migrated=False) for _ in range(3))
    runs = await asyncio.gather(
        first.run_cli("seed", "--demo", "--customers", "20", "--seed", "5", *NO_CARD_USE),
        again.run_cli("seed", "--demo", "--customers", "20", "--seed", "5", *NO_CARD_USE),
        other.run_cli("seed", "--demo", "--customers", "20", "--seed", "6", *NO_CARD_USE),
    )
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert "seeded 20 customers" in run.stdout

    people_first, people_again, people_other = [await _people(db) for db in (first, again, other)]

    assert len(people_first) == 20
    assert people_first == people_again
    assert {p[0] for p in people_first}.isdisjoint({p[0] for p in people_other})
    assert {p[2] for p in people_first} != {p[2] for p in people_other}


async def test_seeding_twice_leaves_the_first_demo_data_alone(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            await seed_demo(session, ring, customers=3, seed=1)
    second = await fresh_database.run_cli("seed", "--demo", "--customers", "5", "--seed", "2")
    assert second.returncode == 0, second.stderr
    assert "demo data already present; nothing seeded" in second.stdout
    assert len(await _people(fresh_database)) == 3


async def test_cardcrm_token_issue_prints_a_token_the_server_accepts_as_the_agent(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            await seed_demo(session, ring, customers=0, seed=1)
            agent = (
                await session.scalars(
                    select(StaffUser).where(col(StaffUser.username) == "demo-agent")
                )
            ).one()

    issued = await fresh_database.run_cli("token", "issue", "--user", "demo-agent")

    assert issued.returncode == 0, issued.stderr
    key_file = fresh_database.settings.var_dir / "keys" / "signing-key.pem"
    assert key_file.exists(), "the CLI did not sign with the var dir's key"
    server_tokens = token_service(fresh_database.settings)  # what a server would load
    principal = server_tokens.verify(issued.stdout.strip())
    assert principal.role is Role.AGENT
    assert principal.username == "demo-agent"
    assert principal.subject == str(agent.id)
    assert principal.branch_id == agent.branch_id


def test_the_committed_sdl_is_the_schema_the_code_serves() -> None:
    committed = SDL_PATH.read_text(encoding="utf-8")
    assert committed == sdl(), (
        f"{SDL_PATH.relative_to(SDL_PATH.parents[1])} is out of date with the code; "
        "run `cardcrm schema export` and commit the result"
    )
