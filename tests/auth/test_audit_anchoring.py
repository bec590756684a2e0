"""`cardcrm audit checkpoint` and `cardcrm audit verify` as subprocesses on a database of the
test's own: the keyed chain is anchored by signed checkpoints, so an edit, a rebuild, a
deletion in the middle or at the end, and a forged checkpoint all exit 1 (an attacker here
holds the database, not the master key nor the checkpoint key)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlmodel import col

from auth.audit import (
    GENESIS_HASH,
    AuditEvent,
    canonical,
    chain_hash,
    event_of,
    record_and_commit,
)
from auth.audit_checkpoint import Checkpoint, CheckpointSigner
from core.database import Database
from models.audit.audit import AuditCheckpoint, AuditEntry
from tests.auth.test_audit import EVENTS, AuditLog, with_chain_key
from tests.models.conftest import FreshDatabase
from tests.security.conftest import running_app

# The demo's year of card use (transactions, statements) is not what these tests are about.
NO_CARD_USE = ("--purchases-per-customer", "0")

pytestmark = pytest.mark.slow


class Anchored(AuditLog):
    async def checkpoint(self) -> subprocess.CompletedProcess[str]:
        return await self.fresh.run_cli("audit", "checkpoint")

    async def audit_verify(self, *args: str) -> subprocess.CompletedProcess[str]:
        return await self.fresh.run_cli("audit", "verify", *args)

    async def drop_the_checkpoint_triggers(self) -> None:
        if self.database.is_sqlite:
            await self.sql(
                "DROP TRIGGER audit_checkpoints_no_update",
                "DROP TRIGGER audit_checkpoints_no_delete",
            )
        else:
            await self.sql("DROP TRIGGER audit_checkpoints_no_change ON audit_checkpoints")

    async def rebuild(self, rehash: Callable[[str, AuditEntry], str]) -> None:
        """Recomputes every link from the start, as plain SHA-256 would have allowed."""
        prev_hash = GENESIS_HASH
        for entry in await self.entries():
            new_hash = rehash(prev_hash, entry)
            await self.sql(
                "UPDATE audit_entries SET prev_hash = :prev, hash = :hash WHERE seq = :seq",
                prev=prev_hash,
                hash=new_hash,
                seq=entry.seq,
            )
            prev_hash = new_hash


@pytest.fixture
async def anchored(fresh_database: FreshDatabase) -> AsyncIterator[Anchored]:
    """Five entries, then a checkpoint signed by `cardcrm audit checkpoint`."""
    async with fresh_database.database() as database:
        await with_chain_key(fresh_database, database)
        log = Anchored(fresh_database, database)
        await log.record(*EVENTS)
        signed = await log.checkpoint()
        assert signed.returncode == 0, signed.stderr
        yield log


def _plain_sha256(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256(
        canonical(prev_hash, entry.seq, event_of(entry), entry.created_at)
    ).hexdigest()


def _guessed_key(prev_hash: str, entry: AuditEntry) -> str:
    return chain_hash(os.urandom(32), prev_hash, entry.seq, event_of(entry), entry.created_at)


async def test_the_checkpoint_is_one_printable_line_of_the_chain_head(anchored: Anchored) -> None:
    again = await anchored.checkpoint()
    _, head, _ = await anchored.verify()

    line = again.stdout.strip()
    checkpoint = Checkpoint.parse(line)
    assert line.count("\n") == 0
    assert line.startswith(f"cardcrm-audit-checkpoint v1 entries=5 head={head} at=")
    assert (checkpoint.entries, checkpoint.head_hash) == (5, head)


async def test_an_untouched_chain_verifies_against_its_newest_checkpoint(
    anchored: Anchored,
) -> None:
    await anchored.record(AuditEvent("staff", "a1", "auth.logout"))
    newer = await anchored.checkpoint()

    verified = await anchored.audit_verify()

    assert newer.returncode == 0, newer.stderr
    assert verified.returncode == 0, verified.stderr
    assert "audit log intact: 6 entries" in verified.stdout
    assert "covers 6 of 6 entries" in verified.stdout


TAMPERINGS: dict[str, tuple[Callable[[Anchored], Awaitable[None]], str]] = {
    "an edited entry": (
        lambda log: log.sql("UPDATE audit_entries SET purpose = 'routine' WHERE seq = 2"),
        "entry 2: content does not match its hash (altered)",
    ),
    "a chain rebuilt with plain SHA-256": (
        lambda log: log.rebuild(_plain_sha256),
        "entry 1: content does not match its hash (altered)",
    ),
    "a chain rebuilt with a guessed key": (
        lambda log: log.rebuild(_guessed_key),
        "entry 1: content does not match its hash (altered)",
    ),
    "a deleted middle entry": (
        lambda log: log.sql("DELETE FROM audit_entries WHERE seq = 3"),
        "entry 4: expected position 3 (entry removed?)",
    ),
    "the newest entries deleted": (
        lambda log: log.sql("DELETE FROM audit_entries WHERE seq >= 4"),
        "anchors 5 entries but the chain ends at entry 3: the newest entries were removed",
    ),
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
async def test_audit_verify_exits_1_after(anchored: Anchored, tampering: str) -> None:
    tamper, says = TAMPERINGS[tampering]
    await anchored.drop_the_append_only_triggers()
    await tamper(anchored)

    verified = await anchored.audit_verify()

    assert verified.returncode == 1, verified.stdout
    assert says in verified.stderr
    assert "audit log BROKEN" in verified.stderr
    assert "Traceback" not in verified.stderr


async def test_a_checkpoint_is_not_signed_over_a_chain_cut_since_the_last_one(
    anchored: Anchored,
) -> None:
    await anchored.drop_the_append_only_triggers()
    await anchored.sql("DELETE FROM audit_entries WHERE seq = 5")

    refused = await anchored.checkpoint()

    assert refused.returncode == 1
    assert "entry 5, the head anchored at" in refused.stderr
    assert "nothing signed" in refused.stderr
    assert (await anchored.audit_verify()).returncode == 1


def _forged(entries: int, head: str, key_id: str) -> str:
    """A checkpoint signed with a key of the attacker's, under the deployment's key id."""
    forger = CheckpointSigner(Ed25519PrivateKey.generate())
    forger.key_id = key_id
    return forger.sign(entries, head, Checkpoint.parse(EXAMPLE).time).line()


EXAMPLE = (
    "cardcrm-audit-checkpoint v1 entries=0 head=" + "0" * 64 + " at=2026-12-06T05:00:00+00:00 "
    "key=0000000000000000 sig=AA"
)


async def test_a_forged_checkpoint_fails_verify(anchored: Anchored) -> None:
    """The attacker cuts the newest entries and adds a checkpoint that covers only the rest."""
    real = Checkpoint.parse((await anchored.checkpoint()).stdout)
    await anchored.drop_the_append_only_triggers()
    await anchored.sql("DELETE FROM audit_entries WHERE seq >= 4")
    head_3 = (await anchored.entries())[-1].hash
    await anchored.sql(
        "INSERT INTO audit_checkpoints (entries, created_at, statement) "
        "VALUES (3, CURRENT_TIMESTAMP, :line)",
        line=_forged(3, head_3, real.key_id),
    )

    verified = await anchored.audit_verify()

    assert verified.returncode == 1
    assert "the signature does not verify with this deployment's checkpoint key" in (
        verified.stderr
    )


async def test_an_altered_checkpoint_fails_verify(anchored: Anchored) -> None:
    await anchored.drop_the_checkpoint_triggers()
    await anchored.sql("UPDATE audit_checkpoints SET statement = replace(statement, '=5 ', '=4 ')")

    verified = await anchored.audit_verify()

    assert verified.returncode == 1
    assert "checkpoint #1 (4 entries at" in verified.stderr
    assert "(forged or altered)" in verified.stderr


async def test_a_kept_copy_shows_entries_cut_with_the_checkpoints_that_covered_them(
    anchored: Anchored, tmp_path: Path
) -> None:
    """Everything in the database can go; the line operations kept elsewhere cannot."""
    kept = tmp_path / "kept-checkpoints.txt"
    kept.write_text((await anchored.checkpoint()).stdout)
    await anchored.drop_the_append_only_triggers()
    await anchored.drop_the_checkpoint_triggers()
    await anchored.sql("DELETE FROM audit_entries WHERE seq >= 4", "DELETE FROM audit_checkpoints")

    alone = await anchored.audit_verify()
    against_the_copy = await anchored.audit_verify("--checkpoint", str(kept))

    assert alone.returncode == 0, alone.stderr
    assert "not anchored yet" in alone.stdout
    assert against_the_copy.returncode == 1
    assert "anchors 5 entries but the chain ends at entry 3" in against_the_copy.stderr


async def test_a_forged_kept_copy_fails_verify(anchored: Anchored, tmp_path: Path) -> None:
    _, head, _ = await anchored.verify()
    real = Checkpoint.parse((await anchored.checkpoint()).stdout)
    kept = tmp_path / "kept-checkpoints.txt"
    kept.write_text(_forged(5, head, real.key_id) + "\n")

    verified = await anchored.audit_verify("--checkpoint", str(kept))

    assert verified.returncode == 1
    assert "kept-checkpoints.txt line 1 (5 entries at" in verified.stderr


async def test_a_freshly_seeded_demo_database_verifies_anchored(
    fresh_database: FreshDatabase,
) -> None:
    seeded = await fresh_database.run_cli("seed", "--demo", "--customers", "3", *NO_CARD_USE)
    signed = await fresh_database.run_cli("audit", "checkpoint")
    verified = await fresh_database.run_cli("audit", "verify")

    assert seeded.returncode == signed.returncode == 0, seeded.stderr + signed.stderr
    assert verified.returncode == 0, verified.stderr
    assert "anchored: the checkpoint of" in verified.stdout


async def test_a_running_server_signs_a_checkpoint_when_the_chain_has_grown(
    fresh_database: FreshDatabase,
) -> None:
    every_fifth_of_a_second = fresh_database.settings.model_copy(
        update={"audit_checkpoint_minutes": 0.2 / 60}
    )
    async with running_app(every_fifth_of_a_second) as app:
        async with app.state.database.session() as session:
            await record_and_commit(session, *EVENTS)
        stored = await _checkpoints_once_there(app.state.database, count=1)
        await asyncio.sleep(1)  # several more rounds, with nothing new to anchor
        unchanged = await _checkpoints_once_there(app.state.database, count=1)
        async with app.state.database.session() as session:
            await record_and_commit(session, EVENTS[0])
        grown = await _checkpoints_once_there(app.state.database, count=2)

    assert [(c.entries, c.head_hash) for c in stored] == [(5, (await _head(fresh_database)))]
    assert unchanged == stored
    assert [c.entries for c in grown] == [5, 6]
    verified = await fresh_database.run_cli("audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "covers 6 of 6 entries" in verified.stdout


async def _checkpoints_once_there(database: Database, *, count: int) -> list[Checkpoint]:
    """The stored checkpoints, once there are at least ``count`` (within five seconds)."""
    for _ in range(100):
        async with database.session() as session:
            lines = (
                await session.scalars(
                    select(AuditCheckpoint.statement).order_by(col(AuditCheckpoint.id))
                )
            ).all()
        if len(lines) >= count:
            return [Checkpoint.parse(line) for line in lines]
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} checkpoints after five seconds")


async def _head(fresh: FreshDatabase, seq: int = 5) -> str:
    async with fresh.database() as database, database.session() as session:
        entry = await session.get(AuditEntry, seq)
    assert entry is not None
    return entry.hash
