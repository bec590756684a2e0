"""Branches: created and renamed by an administrator (audited, versioned).

A branch's code is what the bank's identity provider names in its tokens
(``auth.external_staff`` refuses a code that is not a branch here), so it is fixed once
created; its display name may change.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from core.errors import BadUserInput, Conflict
from models.organisation.organisation import Branch
from resolvers.admin.common import Events, Reader, check_version, locked

CREATE_ACTION = "branch.create"
RENAME_ACTION = "branch.rename"
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")


def checked_name(name: str, field: str = "name", limit: int = 100) -> str:
    name = name.strip()
    if not name or len(name) > limit:
        raise BadUserInput(f"a name of 1 to {limit} characters is needed", field=field)
    return name


async def create_branch(session: AsyncSession, *, events: Events, code: str, name: str) -> Branch:
    code = code.strip().upper()
    if not _CODE.match(code):
        raise BadUserInput(
            "a branch code is 1 to 32 letters, digits or dashes (e.g. `BJ-CY`)", field="code"
        )
    branch = Branch(code=code, name=checked_name(name))
    session.add(branch)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(f"a branch with code {code!r} exists already", field="code") from exc
    await audit.record_and_commit(
        session,
        events(
            CREATE_ACTION, target_type="Branch", target_id=str(branch.id), details={"code": code}
        ),
    )
    return branch


async def rename_branch(
    session: AsyncSession, *, events: Events, branch_id: uuid.UUID, version: int | None, name: str
) -> Branch:
    branch = await locked(session, Branch, branch_id, "branch", "branchId")
    check_version(branch, version, "branch")
    branch.name = checked_name(name)
    await audit.record_and_commit(
        session,
        events(RENAME_ACTION, target_type="Branch", target_id=str(branch.id), fields=["name"]),
    )
    return branch


async def branch_by_code(session: AsyncSession, code: str) -> Branch:
    """The branch with this code (the CLI names branches by code)."""
    branch = await session.scalar(select(Branch).where(col(Branch.code) == code.strip().upper()))
    if branch is None:
        raise BadUserInput(f"no branch with code {code!r}", field="branch")
    return branch


async def list_branches(session: Reader) -> list[Branch]:
    return list(await session.scalars(select(Branch).order_by(col(Branch.code))))
