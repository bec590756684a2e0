"""Saved segments: named customer filters that counts, offers and campaigns refer to.

Marketers, supervisors and admins (``segments:write``) save them; names are unique across
the bank (one name, one audience; a clash is CONFLICT); changes and deletions take the
``version`` last read and are the author's or an admin's. A filter is saved as the JSON of its
validated form, and only if its author may use it: a condition on a field they may not see is
FORBIDDEN when saving as when listing. Whoever uses a segment later (its count, an offer's
audience) is checked again against their own rights and scope, so a segment never widens what
its user may learn. Every decision is audited; names and descriptions are internal text and
must not hold personal data (BAD_USER_INPUT).
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from core import text_limits
from core.errors import BadUserInput, Conflict, Forbidden, NotFound
from core.identity import Principal, Role, Scope
from core.request_database import RequestDatabase
from core.settings import Settings
from models.columns import utcnow
from models.customers.segment import DESCRIPTION_LENGTH, NAME_LENGTH, SavedSegment
from resolvers.customers.segment_filter import (
    SegmentFilter,
    checked_filter,
    filter_conditions,
    refuse_unseen,
)
from resolvers.pagination import Page, PageArgs, page_with_count
from resolvers.purpose import holds_personal_data

NOT_FOUND = "no saved segment with this id"
NO_SUCH_NAME = "no saved segment with this name"


@dataclass(frozen=True)
class SegmentText:
    name: str
    description: str | None


def _text(field: str, value: str, limit: int) -> str:
    text_limits.bounded(field, value, limit)
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        raise BadUserInput(f"`{field}` must not be blank", field=field)
    if holds_personal_data(text):
        raise BadUserInput(f"`{field}` must not hold personal data", field=field)
    return text


def checked_text(name: str, description: str | None) -> SegmentText:
    return SegmentText(
        _text("name", name, NAME_LENGTH),
        None if description is None else _text("description", description, DESCRIPTION_LENGTH),
    )


def _require_writer(principal: Principal) -> None:
    if not principal.is_staff or not principal.has(Scope.SEGMENTS_WRITE):
        raise Forbidden("saving segments needs segments:write (marketers, supervisors, admins)")


def _checked_for(principal: Principal, data: SegmentFilter) -> SegmentFilter:
    checked = checked_filter(data)
    refuse_unseen(principal, checked)
    return checked


async def _clash(session: AsyncSession, name: str, exclude: uuid.UUID | None = None) -> None:
    query = select(SavedSegment.id).where(SavedSegment.name == name)
    if exclude is not None:
        query = query.where(col(SavedSegment.id) != exclude)
    if await session.scalar(query) is not None:
        raise Conflict(f"a saved segment is already named {name!r}", field="name")


async def _commit(session: AsyncSession, event: AuditEvent, name: str) -> None:
    try:
        await audit.record_and_commit(session, event)
    except IntegrityError as exc:  # the same name saved since the test, by another request
        await session.rollback()
        raise Conflict(f"a saved segment is already named {name!r}", field="name") from exc


async def save_segment(
    *,
    session: AsyncSession,
    principal: Principal,
    text: SegmentText,
    data: SegmentFilter,
    audit_event: Callable[..., AuditEvent],
) -> SavedSegment:
    _require_writer(principal)
    text = checked_text(text.name, text.description)
    checked = _checked_for(principal, data)
    await _clash(session, text.name)
    row = SavedSegment(
        name=text.name,
        description=text.description,
        filter=checked.to_json(),
        created_by=principal.subject,
    )
    session.add(row)
    event = audit_event(
        "segment.save",
        target_type="SavedSegment",
        target_id=str(row.id),
        details={"conditions": checked.used()},
    )
    await _commit(session, event, text.name)
    return row


async def _own(session: AsyncSession, principal: Principal, segment_id: uuid.UUID) -> SavedSegment:
    _require_writer(principal)
    row = await session.get(SavedSegment, segment_id)
    if row is None:
        raise NotFound(NOT_FOUND, field="id")
    if row.created_by != principal.subject and principal.role is not Role.ADMIN:
        raise Forbidden("only the segment's author or an admin may change or delete it")
    return row


def _stale(row: SavedSegment, version: int) -> Conflict:
    return Conflict(
        f"the segment is at version {row.version}, not {version}; reload it and retry",
        field="version",
    )


async def update_segment(
    *,
    session: AsyncSession,
    principal: Principal,
    segment_id: uuid.UUID,
    version: int,
    text: SegmentText | None,
    data: SegmentFilter | None,
    audit_event: Callable[..., AuditEvent],
) -> SavedSegment:
    """Changes the name, description or filter, only from the ``version`` last read."""
    if text is None and data is None:
        raise BadUserInput("nothing to change: pass a name, a description or a filter")
    row = await _own(session, principal, segment_id)
    if row.version != version:
        raise _stale(row, version)
    values: dict[str, object] = {"version": version + 1, "updated_at": utcnow()}
    changed = []
    if text is not None:
        text = checked_text(text.name, text.description)
        await _clash(session, text.name, exclude=row.id)
        values.update(name=text.name, description=text.description)
        changed += ["name", "description"]
    if data is not None:
        values["filter"] = _checked_for(principal, data).to_json()
        changed.append("filter")
    session.expunge(row)
    try:
        result = await session.execute(
            update(SavedSegment)
            .where(col(SavedSegment.id) == segment_id, col(SavedSegment.version) == version)
            .values(values)
        )
    except IntegrityError as exc:  # the name taken since the test, by another request
        await session.rollback()
        raise Conflict("a saved segment is already named so", field="name") from exc
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Conflict("the segment changed meanwhile; reload it and retry", field="version")
    event = audit_event(
        "segment.update", target_type="SavedSegment", target_id=str(segment_id), fields=changed
    )
    await _commit(session, event, str(values.get("name", row.name)))
    fresh = await session.get(SavedSegment, segment_id, populate_existing=True)
    assert fresh is not None
    return fresh


async def delete_segment(
    *,
    session: AsyncSession,
    principal: Principal,
    segment_id: uuid.UUID,
    version: int,
    audit_event: Callable[..., AuditEvent],
) -> uuid.UUID:
    row = await _own(session, principal, segment_id)
    if row.version != version:
        raise _stale(row, version)
    await session.execute(
        delete(SavedSegment).where(
            col(SavedSegment.id) == segment_id, col(SavedSegment.version) == version
        )
    )
    event = audit_event("segment.delete", target_type="SavedSegment", target_id=str(segment_id))
    await audit.record_and_commit(session, event)
    return segment_id


async def list_segments(
    *, db: RequestDatabase, settings: Settings, page: PageArgs
) -> tuple[Page[SavedSegment], Callable[[], Awaitable[int]]]:
    """Every saved segment, newest first (the field's scope decides who may list them)."""
    args = page.validated(settings.default_page_size, settings.max_page_size)
    return await page_with_count(
        db,
        SavedSegment,
        [],
        sort_col=col(SavedSegment.created_at),
        id_col=col(SavedSegment.id),
        args=args,
    )


def filter_of(row: SavedSegment) -> SegmentFilter:
    return SegmentFilter.from_json(row.filter)


async def audience_by_name(
    session: AsyncSession, principal: Principal, name: str
) -> list[ColumnElement[bool]]:
    """The conditions on ``customers`` of the segment named ``name``, as its user may apply
    them (their scope, their rights): NOT_FOUND for an unknown name."""
    wanted = unicodedata.normalize("NFKC", name).strip()  # as names are saved
    row = await session.scalar(select(SavedSegment).where(SavedSegment.name == wanted))
    if row is None:
        raise NotFound(NO_SUCH_NAME, field="segment")
    return filter_conditions(principal, filter_of(row))
