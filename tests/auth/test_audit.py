"""The audit log: append-only in the database, hash-chained under a key of the key ring so
that tampering shows, on a database of the test's own (an attacker here drops triggers and
edits rows). Anchoring with signed checkpoints: tests/auth/test_audit_anchoring.py."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from itertools import pairwise

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from auth.audit import (
    GENESIS_HASH,
    AuditEvent,
    canonical,
    chain_hash,
    event_of,
    record_and_commit,
    verify,
)
from auth.audit_key import attach_chain_key
from core.database import Database
from core.encryption import DecryptionError, LocalMasterKey
from models.audit.audit import AuditEntry
from models.key_store import load_key_ring, master_key_from_settings
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


async def with_chain_key(fresh: FreshDatabase, database: Database) -> bytes:
    """What a server's start does: the key ring, then the audit chain key, loaded."""
    await fresh.key_ring(database)
    async with database.session() as session:
        return await attach_chain_key(session, master_key_from_settings(fresh.settings))


@pytest.fixture
async def audit_log(fresh_database: FreshDatabase) -> AsyncIterator[AuditLog]:
    async with fresh_database.database() as database:
        await with_chain_key(fresh_database, database)
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
    async with fresh_database.database() as database:
        await with_chain_key(fresh_database, database)
        async with database.session() as session:
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


def _plain_sha256(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256(
        canonical(prev_hash, entry.seq, event_of(entry), entry.created_at)
    ).hexdigest()


def _guessed_key(prev_hash: str, entry: AuditEntry) -> str:
    return chain_hash(os.urandom(32), prev_hash, entry.seq, event_of(entry), entry.created_at)


@pytest.mark.parametrize(
    "rehash", [_plain_sha256, _guessed_key], ids=["plain SHA-256", "a guessed key"]
)
async def test_a_chain_rebuilt_without_the_key_fails_at_every_entry(
    audit_log: AuditLog, rehash: Callable[[str, AuditEntry], str]
) -> None:
    """The attacker edits entry 2 and recomputes every link after it, as they could with plain
    SHA-256; without the chain key no hash they compute matches."""
    await audit_log.drop_the_append_only_triggers()
    await audit_log.sql("UPDATE audit_entries SET purpose = 'routine check' WHERE seq = 2")
    prev_hash = GENESIS_HASH
    for entry in await audit_log.entries():
        new_hash = rehash(prev_hash, entry)
        await audit_log.sql(
            "UPDATE audit_entries SET prev_hash = :prev, hash = :hash WHERE seq = :seq",
            prev=prev_hash,
            hash=new_hash,
            seq=entry.seq,
        )
        prev_hash = new_hash

    problems, _, _ = await audit_log.verify()

    assert problems == [
        f"entry {seq}: content does not match its hash (altered)" for seq in range(1, 6)
    ]


async def test_the_chain_key_is_in_the_database_only_wrapped(audit_log: AuditLog) -> None:
    async with audit_log.database.session() as session:
        key = await attach_chain_key(session, master_key_from_settings(audit_log.fresh.settings))
    async with audit_log.database.engine.connect() as connection:
        stored = (
            await connection.execute(
                text("SELECT wrapped_key FROM encryption_keys WHERE purpose = 'audit_chain'")
            )
        ).scalar_one()
    assert len(key) == 32
    assert key not in bytes(stored)


async def test_removing_the_newest_entries_leaves_a_chain_that_only_a_checkpoint_shows(
    audit_log: AuditLog,
) -> None:
    _, recorded_head, _ = await audit_log.verify()
    await audit_log.drop_the_append_only_triggers()
    await audit_log.sql("DELETE FROM audit_entries WHERE seq = 5")

    problems, head, count = await audit_log.verify()

    assert (problems, count) == ([], len(EVENTS) - 1)  # a chain cut at its end is still a chain
    assert head != recorded_head  # which is why signed checkpoints anchor the head


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


async def test_a_chain_key_is_never_made_under_another_master_key(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        async with database.session() as session:
            await load_key_ring(session, master_key_from_settings(fresh_database.settings))
        async with database.session() as session:
            with pytest.raises(DecryptionError, match="CARDCRM_MASTER_KEY"):
                await attach_chain_key(session, LocalMasterKey(os.urandom(32)))
        async with database.engine.connect() as connection:
            stored = await connection.execute(
                text("SELECT count(*) FROM encryption_keys WHERE purpose = 'audit_chain'")
            )
            assert stored.scalar_one() == 0


async def test_a_deleted_chain_key_is_never_replaced_over_an_existing_log(
    audit_log: AuditLog,
) -> None:
    await audit_log.sql("DELETE FROM encryption_keys WHERE purpose = 'audit_chain'")

    checked = await audit_log.fresh.run_cli("audit", "verify")

    assert checked.returncode == 1, checked.stdout
    assert "chain key is gone" in checked.stderr
    assert "restore that row from a backup" in checked.stderr
    assert "Traceback" not in checked.stderr
    async with audit_log.database.engine.connect() as connection:
        stored = await connection.execute(
            text("SELECT count(*) FROM encryption_keys WHERE purpose = 'audit_chain'")
        )
        assert stored.scalar_one() == 0, "a new key would make every entry unverifiable"
