"""The audit chain's HMAC key: one more key of the key ring, stored only wrapped.

Plain SHA-256 lets anyone who can write to the database recompute every hash after editing,
so the chain is keyed (HMAC-SHA256). The key is random, stored in ``encryption_keys`` under
its own purpose, wrapped by the master key (bound to that purpose, so a data key's wrapped
bytes copied into its row do not open), and never in the database in clear. It never rotates:
a new key would orphan every hash already written.

Every audit append goes through a session, and the key belongs to the database the session
writes to, so the key is kept per engine: ``build_state`` loads it once (``attach_chain_key``)
and ``chain_key_of`` finds it from any session on that engine.
"""

from __future__ import annotations

import os
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from core.encryption import BLIND_INDEX_KEY, KEY_BYTES, MasterKey, key_wrap_context
from models.audit.audit import AuditEntry
from models.keys import EncryptionKey

AUDIT_CHAIN_KEY = "audit_chain"
AUDIT_CHAIN_KEY_VERSION = 1
_keys: WeakKeyDictionary[Engine, bytes] = WeakKeyDictionary()


class ChainKeyMissing(RuntimeError):
    """An audit append or check on a database whose chain key this process never loaded, or
    whose stored chain key is gone while its log has entries."""


def chain_key_context() -> bytes:
    return key_wrap_context(AUDIT_CHAIN_KEY, AUDIT_CHAIN_KEY_VERSION)


def new_wrapped_chain_key(master: MasterKey) -> EncryptionKey:
    """A fresh random chain key, wrapped for its row in ``encryption_keys``."""
    wrapped = master.wrap(os.urandom(KEY_BYTES), context=chain_key_context())
    return EncryptionKey(
        purpose=AUDIT_CHAIN_KEY, version=AUDIT_CHAIN_KEY_VERSION, wrapped_key=wrapped
    )


async def load_chain_key(session: AsyncSession, master: MasterKey) -> bytes:
    """Opens the stored chain key; creates it on first use, on an empty log only (the first
    process to commit wins)."""
    ident = (AUDIT_CHAIN_KEY, AUDIT_CHAIN_KEY_VERSION)
    row = await session.get(EncryptionKey, ident)
    if row is None:
        await _check_log_is_empty(session)
        await _check_master(session, master)
        session.add(new_wrapped_chain_key(master))
        try:
            await session.commit()
        except IntegrityError:  # another process created it first: use theirs
            await session.rollback()
        row = await session.get(EncryptionKey, ident, populate_existing=True)
        assert row is not None
    return master.unwrap(row.wrapped_key, context=chain_key_context())


async def _check_log_is_empty(session: AsyncSession) -> None:
    """A chain key is only ever made for an empty log: over existing entries a new key would
    make every one of them unverifiable for good (the row deleted, by mistake or to destroy
    the evidence, must be restored from a backup instead)."""
    if await session.scalar(select(AuditEntry.seq).limit(1)) is not None:
        raise ChainKeyMissing(
            "the audit log has entries but its chain key is gone from encryption_keys "
            f"(purpose '{AUDIT_CHAIN_KEY}'); restore that row from a backup: a new key "
            "would leave every entry unverifiable"
        )


async def _check_master(session: AsyncSession, master: MasterKey) -> None:
    """A chain key is only ever wrapped by the master key that wrapped the rest of the ring
    (unwrapping the blind-index key raises DecryptionError, naming the setting, otherwise)."""
    index = await session.get(EncryptionKey, (BLIND_INDEX_KEY, 1))
    if index is not None:
        master.unwrap(index.wrapped_key, context=key_wrap_context(BLIND_INDEX_KEY, 1))


def _engine_of(session: AsyncSession) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


async def attach_chain_key(session: AsyncSession, master: MasterKey) -> bytes:
    """Loads the chain key of the session's database and keeps it for that engine."""
    key = await load_chain_key(session, master)
    _keys[_engine_of(session)] = key
    return key


def chain_key_of(session: AsyncSession) -> bytes:
    """The chain key of the database this session writes to."""
    key = _keys.get(_engine_of(session))
    if key is None:
        raise ChainKeyMissing(
            "the audit chain key of this database is not loaded; "
            "build the state with api.state.build_state (or call auth.audit_key.attach_chain_key)"
        )
    return key
