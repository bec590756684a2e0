"""Builders for the test world, made through the service layer like real data."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import httpx
from sqlalchemy import select
from sqlalchemy.engine import make_url

from api.demo.seed import seed_demo
from api.state import AppState
from auth.clients import Credentials
from auth.scopes import ROLE_SCOPES
from core.identity import Principal, PrincipalKind, Role
from models.cards.card import CardStatus
from models.customers.customer import Customer
from models.growth.tier import Tier
from models.organisation.organisation import Branch, StaffUser
from resolvers.customers.input import Consent, NewCard, NewCustomer
from resolvers.customers.records import new_customer_rows


@dataclass(frozen=True)
class KnownCustomer:
    """A customer whose clear values the tests know, to compare masked output with."""

    id: uuid.UUID
    data: NewCustomer
    card_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass
class World:
    staff: dict[str, StaffUser]
    branches: dict[str, Branch]
    alice: KnownCustomer  # branch A (BJ-CY): demo-agent's branch
    bob: KnownCustomer  # branch B (SH-PD): demo-agent-b's branch
    password: str


# Each staff role's demo user (api.demo.seed), by the role names tests parametrize with.
DEMO_STAFF = {
    "admin": "demo-admin",
    "supervisor": "demo-supervisor",
    "agent": "demo-agent",
    "marketer": "demo-marketer",
    "risk_officer": "demo-risk",
    "auditor": "demo-auditor",
}
ALICE = NewCustomer(
    name="张三丰",
    birth_date=date(1990, 3, 7),
    id_number="110101199003071233",
    phone="13812345678",
    gender="male",
    email="zhangsan@example.com",
    address="北京市朝阳区建国路88号",
    consent=Consent(sms=True, email=True),
    cards=(
        NewCard(pan="6228480012345671", product="UnionPay Gold", credit_limit=Decimal("50000.00")),
    ),
)
BOB = NewCustomer(
    name="李四",
    birth_date=date(1985, 12, 1),
    id_number="310115198512010018",
    phone="13912345678",
    gender="male",
    email="lisi@example.com",
    address="上海市浦东新区世纪大道100号",
    cards=(
        NewCard(
            pan="6225880012345675", product="UnionPay Classic", credit_limit=Decimal("20000.00")
        ),
    ),
)


async def _add_known(
    state: AppState, data: NewCustomer, branch: Branch, tier: Tier, *, active: bool = False
) -> KnownCustomer:
    async with state.database.session() as session:
        row, cards, customer_key = new_customer_rows(
            state.key_ring, data.checked(), branch_id=branch.id, tier_id=tier.id
        )
        session.add(customer_key)
        for card in cards if active else ():
            card.status, card.activated_at = CardStatus.ACTIVATED, card.issued_at
        session.add(row)
        await session.flush()
        session.add_all(cards)
        await session.commit()
        return KnownCustomer(row.id, data.checked(), [card.id for card in cards])


async def build_world(state: AppState, *, customers: int, seed: int) -> World:
    async with state.database.session() as session:
        result = await seed_demo(session, state.key_ring, customers=customers, seed=seed)
        assert result.staff_password is not None, "the test database was not empty"
        staff = {u.username: u for u in (await session.scalars(select(StaffUser))).all()}
        branches = {b.code: b for b in (await session.scalars(select(Branch))).all()}
        gold = (await session.scalars(select(Tier).where(Tier.code == "gold"))).one()
    alice = await _add_known(state, ALICE, branches["BJ-CY"], gold)
    bob = await _add_known(state, BOB, branches["SH-PD"], gold)
    return World(staff, branches, alice, bob, result.staff_password)


async def customer_count(state: AppState) -> int:
    from sqlalchemy import func

    async with state.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Customer)) or 0)


def letters_label(prefix: str = "c") -> str:
    """A fresh label of letters only: a hex label can hold 11 digits in a row, which the
    server rightly reads as a phone number in a tag, a segment's name or a campaign's terms."""
    return prefix + "".join(chr(ord("a") + int(ch, 16)) for ch in uuid.uuid4().hex[:12])


def postgres_admin_url() -> str | None:
    """The maintenance URL of the PostgreSQL server to test against, if it answers."""
    url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        import psycopg2

        psycopg2.connect(_sync_dsn(url), connect_timeout=3).close()
    except Exception:
        return None
    return url


def _sync_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_postgres_database(admin_url: str, name: str) -> str:
    import psycopg2

    connection = psycopg2.connect(_sync_dsn(admin_url))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return (
        make_url(admin_url)
        .set(drivername="postgresql+asyncpg", database=name)
        .render_as_string(hide_password=False)
    )


def drop_postgres_database(admin_url: str, name: str) -> None:
    import psycopg2

    connection = psycopg2.connect(_sync_dsn(admin_url))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


async def add_customer(
    state: AppState,
    world: World,
    *,
    branch: str = "BJ-CY",
    tier: str = "standard",
    consent: Consent | None = None,
    seed: int | None = None,
    active: bool = False,
) -> uuid.UUID:
    """A fresh customer with valid generated identifiers, built through the service layer;
    their card is issued, or already activated when ``active`` (transactions are booked only
    on an active card)."""
    import random

    from models.customers.identifiers import (
        generate_mobile,
        generate_national_id,
        generate_unionpay_pan,
    )

    rng = random.Random(seed)
    birth = date(1980 + rng.randrange(20), 1 + rng.randrange(12), 1 + rng.randrange(28))
    data = NewCustomer(
        name="测试客户",
        birth_date=birth,
        id_number=generate_national_id(rng, birth),
        phone=generate_mobile(rng),
        consent=consent or Consent(),
        cards=(
            NewCard(
                pan=generate_unionpay_pan(rng),
                product="UnionPay Classic",
                credit_limit=Decimal("10000"),
            ),
        ),
    )
    async with state.database.session() as session:
        tier_row = (await session.scalars(select(Tier).where(Tier.code == tier))).one()
        known = await _add_known(state, data, world.branches[branch], tier_row, active=active)
    return known.id


async def add_staff(state: AppState, world: World, *, role: str, branch: str | None) -> StaffUser:
    """A fresh staff user (so tests that count per-user things start from zero)."""
    from auth.passwords import hash_password

    async with state.database.session() as session:
        user = StaffUser(
            username=f"test-{role}-{uuid.uuid4().hex[:8]}",
            display_name=f"Test {role}",
            role=role,
            branch_id=world.branches[branch].id if branch else None,
            password_hash=await hash_password(world.password),
        )
        session.add(user)
        await session.commit()
        return user


async def add_oauth_client(
    state: AppState,
    *,
    scopes: str,
    merchant: str | None = None,
    name: str = "test service",
) -> Credentials:
    """A fresh OAuth client, made like `cardcrm clients create`: a merchant client when
    ``merchant`` names a new partner merchant (created here), else a service account."""
    from auth import clients
    from auth.scopes import parse_scopes

    async with state.database.session() as session:
        owner = await clients.create_merchant(session, name=merchant) if merchant else None
        return await clients.create_client(
            session,
            actor=clients.Actor(kind="test", id="support"),
            scopes=parse_scopes(scopes),
            merchant=owner,
            name=None if merchant else name,
        )


async def client_credentials_token(
    http: httpx.AsyncClient, credentials: Credentials, scope: str | None = None
) -> str:
    """An access token from /oauth/token for the client (client_secret_basic)."""
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    response = await http.post(
        "/oauth/token",
        data=form,
        auth=(credentials.client.client_id, credentials.client_secret),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def staff_principal(
    role: Role, branch_id: uuid.UUID | None = None, subject: str | None = None
) -> Principal:
    """A staff principal with all its role's scopes, for calling resolvers without HTTP."""
    return Principal(
        kind=PrincipalKind.STAFF,
        subject=subject or str(uuid.uuid4()),
        role=role,
        scopes=ROLE_SCOPES[role],
        client_id="cardcrm-console",
        token_id=uuid.uuid4().hex,
        expires_at=0,
        branch_id=branch_id,
    )


def numbered_customer(index: int) -> NewCustomer:
    """The index-th of a series of valid, distinct customers, for worlds built by hand."""
    from models.customers.identifiers import national_id_check_char

    first17 = f"11010119900101{index:03d}"
    return NewCustomer(
        name="测试客户",
        birth_date=date(1990, 1, 1),
        id_number=first17 + national_id_check_char(first17),
        phone=f"1380000{index:04d}",
    ).checked()
