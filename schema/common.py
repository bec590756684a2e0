"""Types shared by every domain: the error code enum, ``UserError`` and the mutation helper."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from api.errors import DomainError
from api.errors import ErrorCode as ErrorCodeValues
from auth.policy import PiiField as PiiFieldValues
from auth.scopes import Role as RoleValues
from resolvers.pagination import SortDirection as SortDirectionValues

ErrorCode = strawberry.enum(ErrorCodeValues, description="Stable error codes (extensions.code).")
PiiField = strawberry.enum(PiiFieldValues, description="C2 values a reveal can return in clear.")
Role = strawberry.enum(RoleValues, description="Who a principal is.")
SortDirection = strawberry.enum(SortDirectionValues)


@strawberry.type(description="An expected failure of a mutation; nothing was written.")
class UserError:
    field: str | None
    code: ErrorCode
    message: str

    @classmethod
    def of(cls, error: DomainError) -> UserError:
        return cls(field=error.field, code=error.code, message=error.message)


P = TypeVar("P")


async def run_mutation(
    work: Callable[[], Awaitable[P]], on_error: Callable[[list[UserError]], P]
) -> P:
    """Runs a mutation's unit of work; an expected failure becomes the payload's userErrors."""
    try:
        return await work()
    except DomainError as error:
        return on_error([UserError.of(error)])
