"""What an SQL plan is made of (``api.compiled.sql.planner`` makes them, ``run`` runs them):
per level one statement and the objects built from its rows, per field how its value is
read from a row (a column, a sealed cell, a computed value), refused, or filled in later
(a child list or connection, read for the whole level at once)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    OperationDefinitionNode,
)

from api.compiled.sql.statement import (
    PreparedSql,
)
from core.errors import Forbidden


@dataclass(frozen=True)
class Refused:
    """A field the caller may not see: null, and this FORBIDDEN at its path. The refusal
    of an asynchronous field comes once the level's synchronous fields are done, as the
    standard executor meets it when it starts awaiting that field."""

    error: Forbidden
    node: FieldNode
    deferred: bool = False


@dataclass
class FieldPlan:
    """One selected field of an object built from a row."""

    key: str
    leaf: LeafRead | None = None
    computed: ComputedRead | None = None
    sealed: SealedRead | None = None
    refused: Refused | None = None
    object: ObjectPlan | None = None  # an embedded or joined object, from the same row
    object_id: int | None = None  # the joined row's id column: no such row when null
    object_optional: bool = False  # a nullable to-one field: null when there is no row
    child: LevelPlan | None = None  # a child list, read for the whole level afterwards
    typename: str | None = None


@dataclass(frozen=True)
class LeafRead:
    index: int
    process: Callable[[Any], Any] | None
    convert: Callable[[Any], Any] | None
    serialize: Callable[[Any], Any]
    non_null: bool
    global_type: str | None = None  # a Relay ID of this type from the row's id


@dataclass(frozen=True)
class ComputedRead:
    """A value computed from some of the row's columns by the type's own function."""

    indexes: tuple[int, ...]
    processes: tuple[Callable[[Any], Any] | None, ...]
    compute: Callable[..., Any]
    serialize: Callable[[Any], Any]


@dataclass(frozen=True)
class SealedRead:
    index: int
    id_index: int
    id_process: Callable[[Any], Any] | None
    owner_index: int  # the row's customer, whose key seals it
    owner_process: Callable[[Any], Any] | None
    aad_prefix: bytes  # ``aad_for(table, column, row id)`` up to the row id
    show: Callable[[str], Any]  # the policy's mask for this caller (``showing``)
    # OWN_CLEAR: the author's column; its author sees the value in clear
    author_index: int | None = None
    author_process: Callable[[Any], Any] | None = None


@dataclass
class ObjectPlan:
    type_name: str
    fields: list[FieldPlan] = field(default_factory=list)


@dataclass
class LevelPlan:
    """One statement and the objects built from its rows."""

    statement: PreparedSql | None
    object: ObjectPlan
    # (customer id, key version, wrapped key) columns: keys the rows' values need
    key_columns: tuple[int, int, int] | None = None
    key_process: Callable[[Any], Any] | None = None
    foreign_index: int = 0  # a child level: the column naming its parent
    foreign_process: Callable[[Any], Any] | None = None
    parent_id_index: int = 0  # a child level: the parent row's id column
    parent_id_process: Callable[[Any], Any] | None = None
    key: str = ""  # a child level: its key in the parent object
    # the root's row columns for keyset cursors (created_at, id)
    cursor_columns: tuple[int, int] | None = None
    cursor_process: tuple[Callable[[Any], Any] | None, Callable[[Any], Any] | None] = (None, None)
    # a child level whose rows belong to the parent rows' customers: keys already open
    keys_from_parent: bool = False
    # a child level: its parents' ids as its one parameter
    parents_value: Callable[[list[Any]], Any] | None = None
    # a child connection: what each parent's page shows, and where its arguments are
    connection: ConnectionShape | None = None
    arguments: tuple[GraphQLField, FieldNode] | None = None
    # a derived child level (``catalogue.Derived``): what reads its records, and which of
    # their keys make a row, in the order the fields' reads index them
    derive: Any = None
    record_columns: tuple[str, ...] = ()


@dataclass
class RootPlan:
    key: str
    field_name: str
    node: FieldNode
    definition: GraphQLField | None
    refused: Refused | None = None
    typename: str | None = None
    level: LevelPlan | None = None  # the root's rows
    connection: ConnectionShape | None = None
    # a root list: its statement for the filter fields given and whether ``after`` is
    list_statements: ListStatements | None = None
    # a namespace root whose selected fields are all refused (``catalogue.NAMESPACES``)
    namespace: ObjectPlan | None = None


class ListStatements:
    """A root list's statement variants, one per (filter fields given, after given): the
    same select list, so the level's reads serve each; each is prepared on first use."""

    def __init__(
        self, filters: tuple[str, ...], build: Callable[[frozenset[str], bool], PreparedSql]
    ) -> None:
        self.filters = filters
        self._build = build
        self._prepared: dict[tuple[frozenset[str], bool], PreparedSql] = {}

    def get(self, given: frozenset[str], after: bool) -> PreparedSql:
        prepared = self._prepared.get((given, after))
        if prepared is None:
            prepared = self._prepared[(given, after)] = self._build(given, after)
        return prepared


@dataclass(frozen=True)
class ConnectionShape:
    """Which parts of a connection are selected: keys in order, with what each is."""

    fields: tuple[tuple[str, str], ...]  # (key, "edges" | "pageInfo" | "__typename")
    edge: tuple[tuple[str, str], ...]  # (key, "cursor" | "node" | "__typename")
    page_info: tuple[tuple[str, str], ...]  # (key, field name)
    type_name: str
    edge_type: str

    @property
    def needs_cursors(self) -> bool:
        return any(name == "cursor" for _, name in self.edge) or any(
            name in ("startCursor", "endCursor") for _, name in self.page_info
        )


@dataclass
class SqlPlan:
    operation: OperationDefinitionNode
    roots: list[RootPlan]

    @property
    def name(self) -> str | None:
        return self.operation.name.value if self.operation.name else None
