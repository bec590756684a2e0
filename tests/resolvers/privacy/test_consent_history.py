"""The one writer of consent history: a row per channel that changed (a new customer: per
channel granted), and the bulk import writing a chunk's history set-based, in one INSERT,
with the chunk."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from api.demo.people import REFERENCE_DATE
from api.demo.seed import SEED_ACTOR
from auth.audit import AuditEvent
from models.customers.customer import Customer
from models.customers.identifiers import generate_mobile, generate_national_id
from models.privacy.consent import ConsentChange, ConsentSource
from resolvers.customers.bulk_import import import_customers
from resolvers.customers.import_file import customer_rows
from resolvers.privacy.consent_history import CHANNELS, consent_changes, granted_of
from resolvers.transactions.files import FileFormat
from tests.conftest import Server
from tests.support import World

AT = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
NONE = dict.fromkeys(CHANNELS, False)


def test_a_new_customer_gets_a_row_per_channel_granted() -> None:
    customer_id = uuid.uuid4()

    rows = consent_changes(
        customer_id,
        None,
        {**NONE, "sms": True, "phone": True},
        source=ConsentSource.ONBOARDING,
        actor_id="staff-1",
        at=AT,
    )

    assert [(r["channel"], r["granted"], r["source"]) for r in rows] == [
        ("sms", True, "onboarding"),
        ("phone", True, "onboarding"),
    ]
    assert {(r["customer_id"], r["actor_id"], r["changed_at"]) for r in rows} == {
        (customer_id, "staff-1", AT)
    }
    assert len({r["id"] for r in rows}) == 2


def test_a_change_records_only_the_channels_whose_value_changed() -> None:
    before = {**NONE, "sms": True, "email": True}
    after = {**NONE, "sms": True, "push": True}

    rows = consent_changes(
        uuid.uuid4(), before, after, source=ConsentSource.APP, actor_id="c", at=AT
    )

    assert [(r["channel"], r["granted"]) for r in rows] == [("email", False), ("push", True)]


def test_no_change_and_a_new_customer_granting_nothing_record_nothing() -> None:
    same = {**NONE, "email": True}

    assert consent_changes(uuid.uuid4(), same, same, source=ConsentSource.STAFF, actor_id="s") == []
    assert consent_changes(uuid.uuid4(), None, NONE, source=ConsentSource.STAFF, actor_id="s") == []


def _line(rng: random.Random, number: str, consent: dict[str, bool]) -> str:
    born = date(1970, 1, 1) + timedelta(days=rng.randrange(15000))
    return json.dumps(
        {
            "customer_number": number,
            "name": "导入同意",
            "birth_date": str(born),
            "id_number": generate_national_id(rng, born),
            "phone": generate_mobile(rng),
            "branch_code": "SH-PD",
            "consent": consent,
        },
        ensure_ascii=False,
    )


def _events_by(actor: str) -> Any:
    def event(action: str, **kwargs: Any) -> AuditEvent:
        return AuditEvent(actor_kind="system", actor_id=actor, action=action, **kwargs)

    return event


async def _import(server: Server, lines: list[str], chunk_rows: int, actor: str) -> int:
    """Imports the lines as ``actor``; answers how many statements the import ran."""
    database = server.state.database
    before = database.statements_executed
    summary = await import_customers(
        database=database,
        ring=server.state.key_ring,
        rows=customer_rows(lines, FileFormat.JSONL),
        chunk_rows=chunk_rows,
        audit_event=_events_by(actor),
    )
    assert summary.rejected == 0, summary.errors
    return database.statements_executed - before


async def _history_by(server: Server, actor: str) -> dict[uuid.UUID, set[tuple[str, str]]]:
    """The history rows ``actor`` wrote, by customer: (channel, source)."""
    async with server.state.database.session() as session:
        rows = await session.scalars(
            select(ConsentChange).where(col(ConsentChange.actor_id) == actor)
        )
        found: dict[uuid.UUID, set[tuple[str, str]]] = {}
        for change in rows.all():
            found.setdefault(change.customer_id, set()).add((change.channel, change.source))
        return found


async def test_the_import_records_each_new_customers_consent_set_based(
    server: Server, world: World
) -> None:
    rng = random.Random(1616)
    granted = [
        {"sms": True, "email": True},
        {"push": True},
        {},
        {"sms": True, "email": True, "push": True, "phone": True},
    ]
    lines = [_line(rng, f"CIF-CONSENT-{i:03d}", consent) for i, consent in enumerate(granted)]

    await _import(server, lines, chunk_rows=3, actor="import-consent")
    history = await _history_by(server, "import-consent")

    assert sorted(len(channels) for channels in history.values()) == [1, 2, 4]
    assert all(source == "onboarding" for rows in history.values() for _, source in rows)

    # A re-run imports nothing and records nothing twice.
    await _import(server, lines, chunk_rows=3, actor="import-consent")
    assert await _history_by(server, "import-consent") == history


async def test_a_chunk_of_many_customers_costs_the_statements_of_a_chunk_of_two(
    server: Server, world: World
) -> None:
    rng = random.Random(1717)
    consent = {"sms": True, "email": True}
    two = [_line(rng, f"CIF-CONSENT-2-{i}", consent) for i in range(2)]
    eight = [_line(rng, f"CIF-CONSENT-8-{i}", consent) for i in range(8)]
    await _import(server, [_line(rng, "CIF-CONSENT-WARM", consent)], 10, "import-warm")

    small = await _import(server, two, 10, "import-two")
    large = await _import(server, eight, 10, "import-eight")

    assert small == large
    assert sum(len(rows) for rows in (await _history_by(server, "import-eight")).values()) == 16


async def test_the_demo_seed_records_the_consent_its_customers_gave(
    server: Server, world: World
) -> None:
    seeded_before = datetime.combine(REFERENCE_DATE, datetime.min.time(), UTC)
    async with server.state.database.session() as session:
        seeded = await session.scalars(
            select(Customer).where(col(Customer.created_at) <= seeded_before)
        )
        granted = {
            (customer.id, channel)
            for customer in seeded.all()
            for channel, given in granted_of(customer).items()
            if given
        }
    history = await _history_by(server, SEED_ACTOR)

    recorded = {
        (customer_id, channel) for customer_id, rows in history.items() for channel, _ in rows
    }
    assert recorded == granted
    assert granted, "the demo customers gave some consent"
    assert all(source == "onboarding" for rows in history.values() for _, source in rows)
