"""Migration 0005_audit_anchoring on a database that already holds an audit log chained with
plain SHA-256 (as revision 0004's code wrote it): `cardcrm db upgrade` re-chains it under the
key, `cardcrm audit verify` passes, downgrading restores the plain chain, and a wrong master
key stops the upgrade before anything is written."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from dataclasses import asdict
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

import migrations
from auth.audit import GENESIS_HASH, canonical, event_of
from core.database import Database
from models.audit.audit import AuditEntry
from models.columns import utcnow
from models.key_store import load_key_ring, master_key_from_settings
from tests.auth.test_audit import EVENTS
from tests.models.conftest import FreshDatabase

pytestmark = pytest.mark.slow
BEFORE = "0004"


def _plain(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256(
        canonical(prev_hash, entry.seq, event_of(entry), entry.created_at)
    ).hexdigest()


async def _entries(database: Database) -> list[AuditEntry]:
    async with database.session() as session:
        return list((await session.scalars(select(AuditEntry).order_by(col(AuditEntry.seq)))).all())


async def _a_plain_chain_at_0004(fresh: FreshDatabase) -> None:
    """A database at 0004 with its key ring and five entries chained as 0004's code did."""
    await asyncio.to_thread(migrations.upgrade, fresh.url, BEFORE)
    async with fresh.database() as database:
        async with database.session() as session:
            await load_key_ring(session, master_key_from_settings(fresh.settings))
        prev_hash, start = GENESIS_HASH, utcnow() - timedelta(hours=1)
        async with database.session() as session:
            for seq, event in enumerate(EVENTS, start=1):
                entry = AuditEntry(
                    **asdict(event),
                    seq=seq,
                    created_at=start + timedelta(minutes=seq),
                    prev_hash=prev_hash,
                    hash="",
                )
                entry.hash = _plain(prev_hash, entry)
                prev_hash = entry.hash
                session.add(entry)
            await session.commit()


def _is_plain_chain(entries: list[AuditEntry]) -> bool:
    prev_hash = GENESIS_HASH
    for entry in entries:
        if entry.prev_hash != prev_hash or entry.hash != _plain(prev_hash, entry):
            return False
        prev_hash = entry.hash
    return True


async def test_upgrading_rechains_the_log_under_the_key_and_downgrading_restores_it(
    empty_database: FreshDatabase,
) -> None:
    await _a_plain_chain_at_0004(empty_database)
    async with empty_database.database() as database:
        before = await _entries(database)

        upgraded = await empty_database.run_cli("db", "upgrade")
        verified = await empty_database.run_cli("audit", "verify")
        after = await _entries(database)
        downgraded = await empty_database.run_cli("db", "downgrade", BEFORE)
        restored = await _entries(database)

    assert _is_plain_chain(before)
    assert upgraded.returncode == 0, upgraded.stderr
    assert verified.returncode == 0, verified.stderr
    assert "audit log intact: 5 entries" in verified.stdout
    assert not _is_plain_chain(after)
    assert [e.purpose for e in after] == [e.purpose for e in before]
    assert downgraded.returncode == 0, downgraded.stderr
    assert _is_plain_chain(restored)
    assert [e.hash for e in restored] == [e.hash for e in before]


async def test_upgrading_with_another_master_key_writes_nothing(
    empty_database: FreshDatabase,
) -> None:
    await _a_plain_chain_at_0004(empty_database)
    stranger = empty_database.settings.model_copy(
        update={"master_key": base64.b64encode(os.urandom(32)).decode()}
    )

    refused = await FreshDatabase(stranger).run_cli("db", "upgrade")

    assert refused.returncode != 0
    assert "needs the master key the server uses" in refused.stderr
    async with empty_database.database() as database:
        assert _is_plain_chain(await _entries(database))
        assert await migrations.current_revision(database.engine) == BEFORE
