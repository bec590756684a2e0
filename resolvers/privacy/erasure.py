"""Erasing customers (issue 16, privacy rights): crypto-shredding that leaves a tombstone.

In the caller's transaction, for the customers given:

1. every sealed cell (``*_enc``) and blind index (``*_bidx``) of their rows is set to NULL,
   in every table of ``models.privacy.subjects.SUBJECTS`` (the customer row, and the rows
   naming the customer directly or through a parent row);
2. every marketing consent is withdrawn, each change recorded (``ConsentChange``, source
   ``retention``);
3. the customer's own data key is destroyed (``destroy_customer_key``), so a value sealed
   under it and left anywhere (a backup, a copy) can no longer be opened by any key;
4. the customer row stays as a tombstone: ``erased_at`` set and its version bumped; a
   pending erasure request of theirs is done;
5. one audit entry ``customer.erased`` each (its outbox event carries the id only).

Nothing else is touched: transactions, points, statements, metrics and aggregates keep
their rows, so the analytics totals do not change, and the audit chain is only appended to.
The caller holds the audit chain lock (``auth.audit.chain_lock``) and commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

import models  # noqa: F401  (every table registered in the metadata SUBJECTS names)
from auth import audit
from auth.audit import AuditEvent
from core.encryption import KeyRing
from models.columns import BLIND_INDEX, ENCRYPTED, utcnow
from models.customer_keys import destroy_customer_key
from models.customers.customer import Customer
from models.privacy.consent import ConsentSource
from models.privacy.request import PrivacyRequest, PrivacyRequestKind, PrivacyRequestStatus
from models.privacy.subjects import SUBJECTS
from resolvers.privacy.consent_history import CHANNELS, consent_changes, record_consent_changes

ERASED_ACTION = "customer.erased"


def personal_columns(table: Table) -> list[str]:
    """The table's sealed cells and blind indexes, by name."""
    return [
        column.name
        for column in table.columns
        if column.info.get(ENCRYPTED) or column.info.get(BLIND_INDEX)
    ]


def _rows_of(table: Table, customer_ids: list[uuid.UUID]) -> Any:
    """The condition picking the rows of ``table`` that are these customers' data."""
    path = SUBJECTS[table.name]
    if path.parent is None:
        return table.c[path.column].in_(customer_ids)
    parent = SQLModel.metadata.tables[path.parent]
    owned = select(parent.c.id).where(parent.c.customer_id.in_(customer_ids))
    return table.c[path.column].in_(owned)


async def shred_cells(session: AsyncSession, customer_ids: list[uuid.UUID]) -> None:
    """Every sealed cell and blind index of the customers' rows set to NULL (one UPDATE per
    table)."""
    for name in sorted(SUBJECTS):
        table = SQLModel.metadata.tables[name]
        columns = personal_columns(table)
        if columns:
            await session.execute(
                update(table).where(_rows_of(table, customer_ids)).values(dict.fromkeys(columns))
            )


async def _withdraw_consent(
    session: AsyncSession, customer_ids: list[uuid.UUID], actor_id: str
) -> None:
    """Records every consent the customers still give as withdrawn (the one history writer,
    ``resolvers.privacy.consent_history``); the flags themselves are cleared with erased_at."""
    flags = [getattr(Customer, f"consent_{channel}") for channel in CHANNELS]
    rows = (
        await session.execute(
            select(col(Customer.id), *flags).where(col(Customer.id).in_(customer_ids))
        )
    ).all()
    withdrawn = dict.fromkeys(CHANNELS, False)
    history = [
        change
        for row in rows
        for change in consent_changes(
            row[0],
            dict(zip(CHANNELS, row[1:], strict=True)),
            withdrawn,
            source=ConsentSource.RETENTION,
            actor_id=actor_id,
        )
    ]
    await record_consent_changes(session, history)


async def erase_customers(
    session: AsyncSession,
    ring: KeyRing,
    customer_ids: Collection[uuid.UUID],
    audit_event: Callable[..., AuditEvent],
    **details: Any,
) -> int:
    """Erases the customers (see the module docstring), inside ``audit.chain_lock`` and
    without committing; ``details`` go into each audit entry. Returns how many."""
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
    events = [
        audit_event(ERASED_ACTION, target_type="Customer", target_id=str(i), details=details)
        for i in ids
    ]
    now = utcnow()
    await _withdraw_consent(session, ids, events[0].actor_id)
    await shred_cells(session, ids)
    await session.execute(
        update(Customer)
        .where(col(Customer.id).in_(ids))
        .values(
            {
                **{f"consent_{channel}": False for channel in CHANNELS},
                "erased_at": now,
                "updated_at": now,
                "version": col(Customer.version) + 1,
            }
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(PrivacyRequest)
        .where(
            col(PrivacyRequest.customer_id).in_(ids),
            col(PrivacyRequest.kind) == PrivacyRequestKind.ERASURE,
            col(PrivacyRequest.status) == PrivacyRequestStatus.PENDING,
        )
        .values(
            status=PrivacyRequestStatus.DONE,
            completed_at=now,
            version=col(PrivacyRequest.version) + 1,
        )
        .execution_options(synchronize_session=False)
    )
    for customer_id in ids:
        await destroy_customer_key(session, ring, customer_id)
    await audit.append(session, *events)
    return len(ids)
