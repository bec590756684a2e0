"""The collection contact rules, at explicit instants (never the wall clock).

Given an overdue card's case and an agent of its branch, when contacts are logged at chosen
local times, then none is allowed from 21:00 to 08:00 (Asia/Shanghai), at most three a
customer and local day, the next local day counts afresh; a refused contact writes nothing;
an allowed one writes an interaction of kind COLLECTION with sealed notes, a contact, and
moves the case (a promise to pay sets it PROMISED).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from auth.audit import AuditEvent
from auth.scopes import ROLE_SCOPES
from core.database import Database
from core.encryption import KeyRing
from core.errors import BadUserInput, ContactNotAllowed, ErrorCode
from core.identity import Principal, PrincipalKind, Role
from core.settings import Settings
from models.collections.case import CollectionCase, CollectionContact, ContactOutcome
from models.customers.customer import Customer
from models.organisation.organisation import StaffUser
from models.sealing import read_field
from models.service_desk.interaction import Interaction, InteractionChannel, InteractionKind
from resolvers.collections.contact_rules import in_quiet_hours
from resolvers.collections.operations import NewContact, log_contact
from tests.models.conftest import FreshDatabase
from tests.resolvers.collections.support import cases_of, overdue_card


@pytest.fixture
async def database(fresh_database: FreshDatabase) -> AsyncIterator[Database]:
    async with fresh_database.database() as database:
        yield database


def at(local: str) -> datetime:
    return datetime.fromisoformat(f"{local}+08:00")


class Desk:
    """An agent of the case's branch logging contacts on it at explicit instants."""

    def __init__(self, database: Database, ring: KeyRing, settings: Settings) -> None:
        self.database, self.ring, self.settings = database, ring, settings
        self.principal: Principal | None = None

    async def hire(self, branch_id: uuid.UUID) -> None:
        async with self.database.session() as session:
            agent = StaffUser(
                username=f"agent-{uuid.uuid4().hex[:8]}",
                display_name="Agent",
                password_hash="x",
                role="agent",
                branch_id=branch_id,
            )
            session.add(agent)
            await session.commit()
        self.principal = Principal(
            kind=PrincipalKind.STAFF,
            subject=str(agent.id),
            role=Role.AGENT,
            scopes=ROLE_SCOPES[Role.AGENT],
            client_id="console",
            token_id="t",
            expires_at=0,
            branch_id=branch_id,
        )

    async def log(self, case_id: uuid.UUID, when: datetime, **more: Any) -> CollectionCase:
        assert self.principal is not None
        async with self.database.session() as session:
            version = (await session.get(CollectionCase, case_id, populate_existing=True)).version  # type: ignore[union-attr]
            data = NewContact(
                case_id=case_id,
                version=version,
                channel=InteractionChannel.PHONE,
                outcome=more.pop("outcome", ContactOutcome.NO_ANSWER),
                **more,
            )
            return await log_contact(
                session=session,
                ring=self.ring,
                settings=self.settings,
                principal=self.principal,
                data=data,
                audit_event=lambda action, **kw: AuditEvent(
                    actor_kind="staff", actor_id="agent", action=action, **kw
                ),
                now=when,
            )


async def _desk(fresh_database: FreshDatabase, database: Database) -> tuple[Desk, CollectionCase]:
    card = await overdue_card(database, fresh_database.settings)
    [case] = await cases_of(database, card.id)
    desk = Desk(database, await fresh_database.key_ring(database), fresh_database.settings)
    async with database.session() as session:
        customer = await session.get(Customer, card.customer_id)
    assert customer is not None
    await desk.hire(customer.branch_id)
    return desk, case


async def _contacts(database: Database) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(CollectionContact)) or 0)


def test_the_quiet_window_spans_midnight() -> None:
    from datetime import time

    start, end = time(21), time(8)
    assert [
        in_quiet_hours(time(h, m), start, end) for h, m in ((20, 59), (21, 0), (7, 59), (8, 0))
    ] == [False, True, True, False]
    assert in_quiet_hours(time(13), time(12), time(14))
    assert not in_quiet_hours(time(3), time(0), time(0))


async def test_no_contact_in_the_quiet_hours_local_time(
    fresh_database: FreshDatabase, database: Database
) -> None:
    desk, case = await _desk(fresh_database, database)
    for refused in ("2026-03-01T21:00:00", "2026-03-01T23:30:00", "2026-03-02T07:59:59"):
        with pytest.raises(ContactNotAllowed) as caught:
            await desk.log(case.id, at(refused))
        assert caught.value.code is ErrorCode.CONTACT_NOT_ALLOWED
    assert await _contacts(database) == 0
    await desk.log(case.id, at("2026-03-02T08:00:00"))
    await desk.log(case.id, at("2026-03-02T20:59:59"))
    assert await _contacts(database) == 2


async def test_at_most_three_attempts_a_customer_and_local_day(
    fresh_database: FreshDatabase, database: Database
) -> None:
    desk, case = await _desk(fresh_database, database)
    # 08:30 local is 00:30 UTC: the local day, not the UTC one, is counted.
    for hour in ("08:30", "12:00", "15:00"):
        await desk.log(case.id, at(f"2026-03-02T{hour}:00"))
    with pytest.raises(ContactNotAllowed):
        await desk.log(case.id, at("2026-03-02T16:00:00"))
    assert await _contacts(database) == 3
    await desk.log(case.id, at("2026-03-03T08:00:00"))  # a new local day
    assert await _contacts(database) == 4


async def test_a_promise_writes_the_interaction_the_contact_and_sets_the_case_promised(
    fresh_database: FreshDatabase, database: Database
) -> None:
    desk, case = await _desk(fresh_database, database)
    now = at("2026-03-02T10:00:00")
    with pytest.raises(BadUserInput):
        await desk.log(case.id, now, outcome=ContactOutcome.PROMISE_TO_PAY)
    with pytest.raises(BadUserInput):  # a date in the past
        await desk.log(
            case.id,
            now,
            outcome=ContactOutcome.PROMISE_TO_PAY,
            promise_amount_cents=10_000,
            promise_date=date(2026, 3, 1),
        )
    done = await desk.log(
        case.id,
        now,
        outcome=ContactOutcome.PROMISE_TO_PAY,
        promise_amount_cents=10_000,
        promise_date=date(2026, 3, 5),
        notes="客户承诺周四还款",
    )
    assert (done.status, done.promise_amount_cents, done.promise_date) == (
        "promised",
        10_000,
        date(2026, 3, 5),
    )
    assert (done.last_contact_at, done.version) == (now, case.version + 1)
    async with database.session() as session:
        [contact] = list(await session.scalars(select(CollectionContact)))
        interaction = await session.get(Interaction, contact.interaction_id)
    assert interaction is not None
    assert (interaction.kind, interaction.customer_id) == (
        InteractionKind.COLLECTION,
        case.customer_id,
    )
    assert interaction.notes_enc is not None
    assert "客户".encode() not in interaction.notes_enc
    assert read_field(desk.ring, interaction, "notes") == "客户承诺周四还款"
    assert (contact.outcome, contact.promise_amount_cents) == ("promise_to_pay", 10_000)
    assert contact.staff_id == uuid.UUID(desk.principal.subject)  # type: ignore[union-attr]
