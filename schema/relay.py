"""Relay building blocks: the Node interface, global IDs and cursor connections (SPEC §4)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Generic, TypeVar

import strawberry

from core.errors import BadUserInput
from core.settings import Settings
from resolvers.pagination import Page

NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")


def to_global_id(type_name: str, raw_id: object) -> strawberry.ID:
    return strawberry.ID(base64.b64encode(f"{type_name}:{raw_id}".encode()).decode())


def from_global_id(global_id: str, *, field: str = "id") -> tuple[str, str]:
    try:
        type_name, raw_id = (
            base64.b64decode(global_id.encode(), validate=True).decode().split(":", 1)
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadUserInput(f"`{field}` is not an ID this API issued", field=field) from exc
    return type_name, raw_id


# A staff member's ID as `StaffMember.id` or `Viewer.id` gives it; "StaffUser" is what
# StaffMember IDs said before they named their type, still accepted from clients' caches.
STAFF_ID_TYPES = ("StaffMember", "Viewer", "StaffUser")


def uuid_of(
    global_id: str, expected_type: str, *, field: str = "id", aliases: tuple[str, ...] = ()
) -> uuid.UUID:
    """The UUID inside a global ID of the expected type (or one of its aliases, types whose
    IDs name the same record); anything else is BAD_USER_INPUT."""
    type_name, raw_id = from_global_id(global_id, field=field)
    if type_name != expected_type and type_name not in aliases:
        article = "an" if expected_type[:1] in "AEIOU" else "a"
        raise BadUserInput(f"`{field}` must be {article} {expected_type} ID", field=field)
    try:
        return uuid.UUID(raw_id)
    except ValueError as exc:
        raise BadUserInput(f"`{field}` is not an ID this API issued", field=field) from exc


def staff_uuid_of(global_id: str, *, field: str) -> uuid.UUID:
    """A staff member's UUID from a `StaffMember.id` or a `Viewer.id` (yours)."""
    return uuid_of(global_id, "StaffMember", field=field, aliases=STAFF_ID_TYPES)


@strawberry.interface(description="An object with a globally unique ID (Relay).")
class Node:
    id: strawberry.ID = strawberry.field(
        description="The object's global ID: opaque, stable, accepted by `node(id:)`."
    )


# The pagination arguments of every connection field, described once: declare them as
# `first: First = None, after: After = None` (and `last: Last = None, before: Before = None`
# where the connection pages backwards too).
_SIZES = Settings.model_fields
PAGE_SIZE = (
    f"0 to the maximum page size ({_SIZES['max_page_size'].default} unless configured), else "
    f"BAD_USER_INPUT; without `first` or `last`, {_SIZES['default_page_size'].default}"
)
First = Annotated[
    int | None,
    strawberry.argument(description=f"Returns the first N items (after `after`): {PAGE_SIZE}."),
]
After = Annotated[
    str | None,
    strawberry.argument(description="Returns the items after this cursor (an edge's `cursor`)."),
]
Last = Annotated[
    int | None,
    strawberry.argument(
        description=f"Returns the last N items (before `before`), not with `first`: {PAGE_SIZE}."
    ),
]
Before = Annotated[
    str | None,
    strawberry.argument(description="Returns the items before this cursor (an edge's `cursor`)."),
]


@strawberry.type(description="Where a page of a connection sits in the whole list (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Paging forwards: whether items follow this page. Backwards: whether "
        "`before` was given."
    )
    has_previous_page: bool = strawberry.field(
        description="Paging backwards: whether items precede this page. Forwards: whether "
        "`after` was given."
    )
    start_cursor: str | None = strawberry.field(
        description="The cursor of the page's first edge; null when the page is empty."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor of the page's last edge; null when the page is empty."
    )


@strawberry.type(description="One item of a connection's page, with its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(
        description="Opaque position of this item: pass it as `after` or `before` to page on."
    )
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(description="One page of a list, with its cursors (Relay cursor connection).")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(
        description="The items of this page, in the list's order, each with its cursor."
    )
    page_info: PageInfo = strawberry.field(
        description="Whether more items exist either side, and the cursors at the page's ends."
    )
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(
        description="How many records match in the caller's scope, on all pages (one COUNT query)."
    )
    async def total_count(self) -> int:
        return await self._count()

    @classmethod
    def build(
        cls,
        page: Page[RowT],
        to_node: Callable[[RowT], NodeT],
        count: Callable[[], Awaitable[int]],
    ) -> Connection[NodeT]:
        edges = [Edge(cursor=cursor, node=to_node(row)) for cursor, row in page.rows]
        info = PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return cls(edges=edges, page_info=info, _count=count)
