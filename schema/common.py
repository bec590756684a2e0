"""Types shared by every domain: the error code enum, ``UserError`` and the mutation helper."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from api.errors import DomainError, ErrorCode


@strawberry.type(description="An expected failure of a mutation; nothing was written.")
class UserError:
    field: str | None = strawberry.field(
        description="The input field the error is about (e.g. `phone`, `version`); null when it "
        "is about the request as a whole."
    )
    code: ErrorCode = strawberry.field(
        description="Stable code to branch on; the same codes as GraphQL errors' `extensions.code`."
    )
    message: str = strawberry.field(
        description="What went wrong, in English, safe to show; its wording may change."
    )

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
