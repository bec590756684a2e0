"""Types shared by every domain: the scalars' descriptions, ``UserError`` and the mutation
helper (``mutation_payload``)."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.schema.types.base_scalars import (
    DateDefinition,
    DateTimeDefinition,
    DecimalDefinition,
)
from strawberry.types.base import get_object_definition
from strawberry.types.scalar import ScalarDefinition

from core.context import Context, Info
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


def payload_field(description: str, empty: Callable[[], Any] = lambda: None) -> Any:
    """A payload's field, with the value it holds when the mutation was refused: null, or
    ``empty()`` (``list``, ``int``). ``mutation_payload`` builds a refusal from these."""
    return strawberry.field(default_factory=empty, description=description)


R = TypeVar("R")
P = TypeVar("P")


async def mutation_payload(
    info: Info,
    payload: Callable[..., P],
    write: Callable[[AsyncSession, Context], Awaitable[R]],
    done: Callable[[R], P],
) -> P:
    """Runs a mutation's unit of work and answers with its payload: the one way every
    mutation writes.

    ``write`` runs in the request's session, alone (``db.exclusive``); its result becomes the
    payload through ``done``. An expected failure (a bad id or input included, raised by
    ``write`` before it writes) is rolled back, so nothing is written, and answers
    ``payload(user_errors=[...])``: every payload type declares its fields with
    ``payload_field``, whose defaults (null, 0, empty) are what a refused mutation returns.
    """
    try:
        async with info.context.db.exclusive() as session:
            result = await write(session, info.context)
        return done(result)
    except DomainError as error:
        return refused(payload, error)


def refused(payload: Callable[..., P], error: DomainError) -> P:
    """The payload of a refused mutation: ``error`` in its userErrors, every other field at
    its declared empty value (``payload_field``). ``schema.scope_field`` refuses with it too."""
    return payload(user_errors=[UserError.of(error)])


def refusable(payload: type) -> None:
    """Raises TypeError unless every field of ``payload`` but userErrors has an empty value
    declared (``payload_field``), so ``refused`` can build it; checked when the schema is
    built, not on the first refusal."""
    for field in get_object_definition(payload, strict=True).fields:
        if field.python_name != "user_errors" and field.default_factory is dataclasses.MISSING:
            raise TypeError(
                f"{payload.__name__}.{field.python_name} has no empty value: declare it with "
                "payload_field"
            )
