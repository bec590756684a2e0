"""Types shared by every domain: the scalars' descriptions, ``UserError`` and the mutation
helper."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from strawberry.schema.types.base_scalars import (
    DateDefinition,
    DateTimeDefinition,
    DecimalDefinition,
)
from strawberry.types.scalar import ScalarDefinition

from core.errors import DomainError, ErrorCode

# strawberry's own Date, DateTime and Decimal, parsed and printed as before, described the way
# this API uses them (the schema passes them as ``scalar_overrides``).
DESCRIBED_SCALARS: dict[object, ScalarDefinition] = {
    datetime.date: dataclasses.replace(
        DateDefinition, description="A calendar date, ISO 8601 (`2026-01-31`), without a time zone."
    ),
    datetime.datetime: dataclasses.replace(
        DateTimeDefinition,
        description="An instant, ISO 8601 with a UTC offset (`2026-01-31T08:00:00+08:00`); "
        "answers are in UTC, and input without an offset is refused.",
    ),
    decimal.Decimal: dataclasses.replace(
        DecimalDefinition,
        description='An exact decimal number as a string (`"1234.50"`); money is in yuan '
        "with at most two decimals.",
    ),
}


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
