"""audit anchoring: the audit chain becomes keyed (HMAC-SHA256 under a wrapped key of the key
ring) and gets a table of signed checkpoints

Existing entries are re-chained under the new key, so `cardcrm audit verify` has one rule for
the whole log (no plain SHA-256 stretch an attacker could claim for the rest). That needs the
master key the server uses (CARDCRM_MASTER_KEY / _FILE, or var/master.key in development);
it is checked against the stored keys before anything is written. Downgrading re-chains with
plain SHA-256 (revision 0004's rule) and drops the key and the checkpoints.

Revision ID: 0005_audit_anchoring
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import models.columns
from auth.audit import GENESIS_HASH, canonical, chain_hash, event_of
from auth.audit_key import AUDIT_CHAIN_KEY, chain_key_context, new_wrapped_chain_key
from models.audit.audit import AuditEntry
from core.encryption import BLIND_INDEX_KEY, DecryptionError, MasterKey, key_wrap_context
from models.keys import EncryptionKey

revision: str = "0005_audit_anchoring"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENTRIES: sa.Table = AuditEntry.__table__  # type: ignore[attr-defined]
KEYS: sa.Table = EncryptionKey.__table__  # type: ignore[attr-defined]
BATCH = 1000

CHECKPOINTS_APPEND_ONLY_SQLITE = (
    "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints "
    "BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END",
    "CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints "
    "BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END",
)
CHECKPOINTS_APPEND_ONLY_POSTGRES = (
    "CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_checkpoints is append-only'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints "
    "FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only()",
)
# The 0001 triggers on audit_entries, lifted while the chain is rewritten.
ENTRY_TRIGGERS_SQLITE = {
    "audit_entries_no_update": "BEFORE UPDATE",
    "audit_entries_no_delete": "BEFORE DELETE",
}


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _lift_entry_triggers() -> None:
    if _is_postgres():
        op.execute("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_no_change")
        return
    for name in ENTRY_TRIGGERS_SQLITE:
        op.execute(f"DROP TRIGGER {name}")


def _restore_entry_triggers() -> None:
    if _is_postgres():
        op.execute("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_no_change")
        return
    for name, when in ENTRY_TRIGGERS_SQLITE.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} ON audit_entries "
            "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END"
        )


def _rechain(hash_of: Callable[[str, Any], str]) -> None:
    """Rewrites every entry's ``prev_hash`` and ``hash`` in order, a batch at a time."""
    bind = op.get_bind()
    last_seq, prev_hash = 0, GENESIS_HASH
    rewrite = (
        sa.update(ENTRIES)
        .where(ENTRIES.c.seq == sa.bindparam("b_seq"))
        .values(prev_hash=sa.bindparam("b_prev"), hash=sa.bindparam("b_hash"))
    )
    while True:
        rows = bind.execute(
            sa.select(ENTRIES).where(ENTRIES.c.seq > last_seq).order_by(ENTRIES.c.seq).limit(BATCH)
        ).all()
        if not rows:
            return
        changes = []
        for row in rows:
            new_hash = hash_of(prev_hash, row)
            changes.append({"b_seq": row.seq, "b_prev": prev_hash, "b_hash": new_hash})
            prev_hash = new_hash
        bind.execute(rewrite, changes)
        last_seq = rows[-1].seq


def _master_key() -> MasterKey:
    from core.settings import get_settings
    from models.key_store import master_key_from_settings

    return master_key_from_settings(get_settings())


def _open(master: MasterKey, wrapped: bytes, context: bytes) -> bytes:
    try:
        return master.unwrap(wrapped, context=context)
    except DecryptionError as exc:
        raise RuntimeError(
            "re-keying the audit chain needs the master key the server uses; set "
            "CARDCRM_MASTER_KEY or CARDCRM_MASTER_KEY_FILE and run `cardcrm db upgrade` again"
        ) from exc


def _chain_key() -> bytes:
    """The chain key (created here unless a server made it already), opened with a master
    key proven to be the one that wrapped the stored keys before anything is written."""
    bind = op.get_bind()
    master = _master_key()
    stored = {
        row.purpose: row
        for row in bind.execute(
            sa.select(KEYS.c.purpose, KEYS.c.version, KEYS.c.wrapped_key).where(
                KEYS.c.purpose.in_([AUDIT_CHAIN_KEY, BLIND_INDEX_KEY])
            )
        )
    }
    if AUDIT_CHAIN_KEY in stored:
        return _open(master, stored[AUDIT_CHAIN_KEY].wrapped_key, chain_key_context())
    if BLIND_INDEX_KEY in stored:
        index = stored[BLIND_INDEX_KEY]
        _open(master, index.wrapped_key, key_wrap_context(BLIND_INDEX_KEY, index.version))
    row = new_wrapped_chain_key(master)
    bind.execute(
        sa.insert(KEYS).values(
            purpose=row.purpose,
            version=row.version,
            wrapped_key=row.wrapped_key,
            created_at=row.created_at,
        )
    )
    return _open(master, row.wrapped_key, chain_key_context())


def _has_entries() -> bool:
    return op.get_bind().execute(sa.select(ENTRIES.c.seq).limit(1)).first() is not None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("created_at", models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("statement", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_checkpoints_entries"), ["entries"], unique=False
        )
    postgres = _is_postgres()
    for statement in CHECKPOINTS_APPEND_ONLY_POSTGRES if postgres else CHECKPOINTS_APPEND_ONLY_SQLITE:
        op.execute(statement)
    if not _has_entries():
        return  # the chain key is created on first start, with the rest of the key ring
    key = _chain_key()
    _lift_entry_triggers()
    _rechain(lambda prev, row: chain_hash(key, prev, row.seq, event_of(row), row.created_at))
    _restore_entry_triggers()


def downgrade() -> None:
    if _has_entries():
        _lift_entry_triggers()
        _rechain(
            lambda prev, row: hashlib.sha256(
                canonical(prev, row.seq, event_of(row), row.created_at)
            ).hexdigest()
        )
        _restore_entry_triggers()
    op.execute(sa.delete(KEYS).where(KEYS.c.purpose == AUDIT_CHAIN_KEY))
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_checkpoints_entries"))
    op.drop_table("audit_checkpoints")
    if _is_postgres():
        op.execute("DROP FUNCTION IF EXISTS audit_checkpoints_append_only()")
