"""The audit log: append-only in the database, hash-chained so that tampering shows, on a
database of the test's own (an attacker here drops triggers and edits rows)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from itertools import pairwise

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from api.db import Database
from auth.audit import GENESIS_HASH, AuditEvent, chain_hash, record_and_commit, verify
from models.audit import AuditEntry
from tests.models.conftest import FreshDatabase

EVENTS = [
    AuditEvent("staff", "a1", "auth.login", request_id="req-00000001", client_addr="127.0.0.1"),
    AuditEvent(
        "staff",
        "a1",
        "pii.reveal",
        "Customer",
        "c-1",
        ["phone", "name"],
        purpose="工单 4711：核对来电客户身份",
        details={"reason": "来电核实", "n": 1},
    ),
    AuditEvent("staff", "s2", "customer.update", "Customer", "c-2", ["email"]),
    AuditEvent("customer", "c-3", "customer.consent", details={"sms": False}),
    AuditEvent("staff", "s2", "pii.reveal", "Customer", "c-3", ["pan"], purpose="chargeback 88"),
]


@dataclass
class AuditLog:
    fresh: FreshDatabase
    database: Database

    async def record(self, *events: AuditEvent) -> list[AuditEntry]:
        async with self.database.session() as session:
            return await record_and_commit(session, *events)

    async def verify(self) -> tuple[list[str], str, int]:
        async with self.database.session() as session:
            report = await verify(session)
        return report.problems, report.head_hash, report.entries

    async def entries(self) -> list[AuditEntry]:
        async with self.database.session() as session:
            return list(
                (await session.scalars(select(AuditEntry).order_by(col(AuditEntry.seq)))).all()
            )

    async def sql(self, *statements: str, **params: str) -> None:
        async with self.database.engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement), params)

    async def drop_the_append_only_triggers(self) -> None:
        """What an attacker with DDL rights on the database does first."""
        if self.database.is_sqlite:
            await self.sql(
                "DROP TRIGGER audit_entries_no_update", "DROP TRIGGER audit_entries_no_delete"
            )
        else:
            await self.sql("DROP TRIGGER audit_entries_no_change ON audit_entries")


@pytest.fixture
async def audit_log(fresh_database: FreshDatabase) -> AsyncIterator[AuditLog]:
    async with fresh_database.database() as database:
        log = AuditLog(fresh_database, database)
        await log.record(*EVENTS[:2])
        await log.record(*EVENTS[2:])
        yield log


async def test_an_intact_log_verifies_and_its_head_is_the_last_entry(audit_log: AuditLog) -> None:
    problems, head, count = await audit_log.verify()
    entries = await audit_log.entries()
    assert problems == []
    assert count == len(EVENTS)
    assert [entry.seq for entry in entries] == [1, 2, 3, 4, 5]
    assert head == entries[-1].hash
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(entries))


async def test_an_empty_log_verifies_with_the_genesis_head(fresh_database: FreshDatabase) -> None:
    async with fresh_database.database() as database, database.session() as session:
        report = await verify(session)
    assert report.ok
    assert (report.entries, report.head_hash) == (0, GENESIS_HASH)


async def test_the_entries_keep_what_was_recorded(audit_log: AuditLog) -> None:
    reveal = (await audit_log.entries())[1]
    assert (reveal.actor_kind, reveal.actor_id, reveal.action) == ("staff", "a1", "pii.reveal")
    assert reveal.fields == ["phone", "name"]
    assert reveal.purpose == "工单 4711：核对来电客户身份"
    assert reveal.details == {"reason": "来电核实", "n": 1}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET purpose = 'nothing to see' WHERE seq = 2",
        "DELETE FROM audit_entries WHERE seq = 2",
    ],
)
async def test_the_database_refuses_to_change_or_remove_an_entry(
    audit_log: AuditLog, statement: str
) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        await audit_log.sql(statement)
    problems, _, count = await audit_log.verify()
    assert (problems, count) == ([], len(EVENTS))


async def _swap_seq_of_entries_2_and_3(log: AuditLog) -> None:
    await log.sql(
        "UPDATE audit_entries SET seq = -2 WHERE seq = 2",
        "UPDATE audit_entries SET seq = 2 WHERE seq = 3",
        "UPDATE audit_entries SET seq = 3 WHERE seq = -2",
    )


TAMPERINGS: dict[str, Callable[[AuditLog], Awaitable[None]]] = {
    "an altered purpose": lambda log: log.sql(
        "UPDATE audit_entries SET purpose = 'routine check' WHERE seq = 2"
    ),
    "an altered actor": lambda log: log.sql(
        "UPDATE audit_entries SET actor_id = 'someone-else' WHERE seq = 5"
    ),
    "a removed middle entry": lambda log: log.sql("DELETE FROM audit_entries WHERE seq = 3"),
    "two entries swapped": _swap_seq_of_entries_2_and_3,
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
async def test_verify_reports_tampering_by_someone_who_dropped_the_triggers(
    audit_log: AuditLog, tampering: str
) -> None:
    await audit_log.drop_the_append_only_triggers()
    await TAMPERINGS[tampering](audit_log)
    problems, _, _ = await audit_log.verify()
    assert problems, f"{tampering} went unnoticed"


async def test_an_entry_rewritten_with_a_recomputed_hash_breaks_the_next_link(
    audit_log: AuditLog,
) -> None:
    await audit_log.drop_the_append_only_triggers()
    second = (await audit_log.entries())[1]
    forged = AuditEvent(
        second.actor_kind,
        second.actor_id,
        second.action,
        second.target_type,
        second.target_id,
        list(second.fields),
        "routine check",
        second.request_id,
        second.client_addr,
        dict(second.details),
    )
    forged_hash = chain_hash(second.prev_hash, 2, forged, second.created_at)
    await audit_log.sql(
        "UPDATE audit_entries SET purpose = :purpose, hash = :hash WHERE seq = 2",
        purpose="routine check",
        hash=forged_hash,
    )

    problems, _, _ = await audit_log.verify()

    assert problems == ["entry 3: does not follow the previous entry's hash"]


async def test_removing_the_newest_entries_shows_only_against_a_recorded_head(
    audit_log: AuditLog,
) -> None:
    _, recorded_head, _ = await audit_log.verify()
    await audit_log.drop_the_append_only_triggers()
    await audit_log.sql("DELETE FROM audit_entries WHERE seq = 5")

    problems, head, count = await audit_log.verify()

    assert (problems, count) == ([], len(EVENTS) - 1)  # a chain cut at its end is still a chain
    assert head != recorded_head  # which is why the head hash is what gets anchored elsewhere


async def test_concurrent_appends_leave_one_unbroken_chain(audit_log: AuditLog) -> None:
    events = [
        AuditEvent("staff", f"agent-{n}", "customer.read", "Customer", f"c-{n}") for n in range(20)
    ]

    await asyncio.gather(*(audit_log.record(event) for event in events))

    problems, _, count = await audit_log.verify()
    entries = await audit_log.entries()
    assert problems == []
    assert count == len(EVENTS) + len(events)
    assert [entry.seq for entry in entries] == list(range(1, count + 1))
    assert {entry.actor_id for entry in entries[len(EVENTS) :]} == {e.actor_id for e in events}


async def test_cardcrm_audit_verify_exits_0_when_intact_and_1_when_tampered(
    audit_log: AuditLog,
) -> None:
    intact = await audit_log.fresh.run_cli("audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert f"audit log intact: {len(EVENTS)} entries" in intact.stdout

    await audit_log.drop_the_append_only_triggers()
    await audit_log.sql("UPDATE audit_entries SET purpose = 'routine check' WHERE seq = 2")
    broken = await audit_log.fresh.run_cli("audit", "verify")

    assert broken.returncode == 1, broken.stdout
    assert "entry 2: content does not match its hash" in broken.stderr
    assert "audit log BROKEN" in broken.stderr
