"""One request's run of an ``SqlPlan``: its statements on the driver's connection, rows read as
tuples, sealed values opened and masked straight from them, the answer built as plain dicts
and lists (the view encodes it once, with orjson).

A level's rows are built in order; a child list is filled in when its level's one statement
has run for every parent, so errors come in the order the standard executor gives them
(each object's own fields, then its lists'). Whatever the plan cannot answer exactly as the
standard executor would (a null where the schema forbids one, arguments it does not plan, a
key this process has not loaded, a missing record) raises ``Fallback``, and the compiled
executor answers the request instead. Only queries are planned, so running one twice is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graphql import GraphQLError
from graphql.execution.values import VariableValues, get_argument_values

from api.compiled.plan import Fallback
from api.compiled.sql.catalogue import filter_values
from api.compiled.sql.plans import (
    ConnectionShape,
    FieldPlan,
    LeafRead,
    LevelPlan,
    ObjectPlan,
    Refused,
    RootPlan,
    SealedRead,
    SqlPlan,
)
from api.compiled.sql.statement import PreparedSql
from api.error_handling import coded_error
from core.context import Context
from core.errors import DomainError
from resolvers.pagination import PageArgs, decode_cursor, encode_cursor
from schema.relay import to_global_id, uuid_of

Path = tuple[str | int, ...]
_UNPLANNED_ARGUMENTS = ("orderBy", "last", "before")
_UNPLANNED_CHILD_ARGUMENTS = ("after", "filter", "last", "before")


class PlannedRun:
    __slots__ = (
        "caller",
        "connection",
        "context",
        "deferred",
        "errors",
        "openers",
        "pending",
        "ring",
        "variables",
    )

    def __init__(self, context: Context, variables: VariableValues, connection: Any) -> None:
        self.context = context
        self.caller = context.principal
        self.ring = context.key_ring
        self.variables = variables
        self.connection = connection
        self.errors: list[GraphQLError] = []
        self.deferred: list[GraphQLError] = []  # asynchronous fields' refusals, for later
        # per customer, what opens their row's values (``KeyRing.opener_for``)
        self.openers: dict[Any, Callable[[bytes, bytes], str]] = {}
        # per child level, in plan order: (parent id, the list to fill, its path)
        self.pending: dict[int, tuple[LevelPlan, list[tuple[Any, Any, Path]]]] = {}

    async def fetch(self, level: LevelPlan, bindings: dict[str, Any]) -> list[Any]:
        assert level.statement is not None
        return await self.fetch_sql(level.statement, bindings)

    async def fetch_sql(self, statement: PreparedSql, bindings: dict[str, Any]) -> list[Any]:
        self.context.state.database.note_statement()
        return await statement.fetch(self.connection, bindings, self.caller)

    # Roots

    async def root(self, root: RootPlan) -> Any:
        if root.typename is not None:
            return root.typename
        if root.refused is not None:
            return None  # refused before any root ran (``run_sql_plan``)
        if root.namespace is not None:
            return self.object(root.namespace, (), (root.key,))
        assert root.definition is not None
        arguments = get_argument_values(root.definition, root.node, self.variables)
        if root.connection is not None:
            return await self.connection_of(root, arguments)
        assert root.level is not None
        if root.field_name == "me":
            customer_id = self.caller.customer_id
        else:
            customer_id = _or_fallback(lambda: uuid_of(arguments["id"], "Customer"))
        rows = await self.fetch(root.level, {"id": customer_id})
        if not rows:
            raise Fallback("no such customer in scope: the standard executor says NOT_FOUND")
        self.open_keys(root.level, rows)
        return self.object(root.level.object, rows[0], (root.key,))

    async def connection_of(self, root: RootPlan, arguments: dict[str, Any]) -> dict[str, Any]:
        page = self.page_args(arguments, _UNPLANNED_ARGUMENTS)
        statements, level = root.list_statements, root.level
        assert statements is not None
        assert level is not None
        bindings: dict[str, Any] = {"limit": page.size + 1}
        given = filter_values(arguments.get("filter"), statements.filters)
        bindings.update((f"filter_{name}", value) for name, value in given.items())
        if page.after is not None:
            created, row_id = _or_fallback(lambda: decode_cursor(page.after or "", "after"))
            bindings["after_created"], bindings["after_id"] = created, row_id
        statement = statements.get(frozenset(given), page.after is not None)
        rows = await self.fetch_sql(statement, bindings)
        more = len(rows) > page.size
        rows = rows[: page.size]
        self.open_keys(level, rows)
        assert root.connection is not None
        return self.connection_shape(
            root.connection, level, rows, more, page.after is not None, (root.key,)
        )

    def connection_shape(
        self,
        shape: ConnectionShape,
        level: LevelPlan,
        rows: Sequence[Any],
        more: bool,
        after: bool,
        path: Path,
    ) -> dict[str, Any]:
        assert level.cursor_columns is not None
        created_index, id_index = level.cursor_columns
        created_of, id_of = level.cursor_process
        cursors = (
            [
                encode_cursor(
                    _processed(created_of, row[created_index]), _processed(id_of, row[id_index])
                )
                for row in rows
            ]
            if shape.needs_cursors
            else [""] * len(rows)
        )
        result: dict[str, Any] = {}
        for key, name in shape.fields:
            if name == "__typename":
                result[key] = shape.type_name
            elif name == "pageInfo":
                info = {
                    "hasNextPage": more,
                    "hasPreviousPage": after,
                    "startCursor": cursors[0] if cursors else None,
                    "endCursor": cursors[-1] if cursors else None,
                    "__typename": "PageInfo",
                }
                result[key] = {info_key: info[field] for info_key, field in shape.page_info}
            else:
                result[key] = [
                    self.edge(shape.edge, shape.edge_type, level, row, cursor, (*path, key, i))
                    for i, (row, cursor) in enumerate(zip(rows, cursors, strict=True))
                ]
        return result

    def edge(
        self,
        parts: Sequence[tuple[str, str]],
        type_name: str,
        level: LevelPlan,
        row: Any,
        cursor: str,
        path: Path,
    ) -> dict[str, Any]:
        edge: dict[str, Any] = {}
        for key, name in parts:
            if name == "cursor":
                edge[key] = cursor
            elif name == "node":
                edge[key] = self.object(level.object, row, (*path, key))
            else:
                edge[key] = type_name
        return edge

    # Rows

    def open_keys(self, level: LevelPlan, rows: Sequence[Any]) -> None:
        """Opens the rows' customers' keys this process has not opened, from the statement's
        own join (a new process pays no statement for them)."""
        if level.key_columns is None:
            return
        owner_index, version_index, wrapped_index = level.key_columns
        ring, process = self.ring, level.key_process
        for row in rows:
            wrapped = row[wrapped_index]
            if wrapped is None:
                continue  # erased: its values are gone too
            owner = _processed(process, row[owner_index])
            if not ring.has_customer_key(owner):
                ring.open_customer_key(owner, row[version_index], bytes(wrapped))

    def object(self, plan: ObjectPlan, row: Any, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for each in plan.fields:
            result[each.key] = self.value(each, row, path)
        return result

    def value(self, each: FieldPlan, row: Any, path: Path) -> Any:
        if each.leaf is not None:
            return _leaf(each.leaf, row)
        if each.sealed is not None:
            return self.sealed(each.sealed, row)
        if each.computed is not None:
            read = each.computed
            values = (
                _processed(process, row[index])
                for index, process in zip(read.indexes, read.processes, strict=True)
            )
            return read.serialize(read.compute(*values))
        if each.refused is not None:
            self.refuse(each.refused, (*path, each.key))
            return None
        if each.object is not None:
            if each.object_id is not None and row[each.object_id] is None:
                if each.object_optional:
                    return None
                raise Fallback("a joined object that is not there")
            return self.object(each.object, row, (*path, each.key))
        if each.child is not None:
            children: Any = {} if each.child.connection is not None else []
            parent_id = _processed(each.child.parent_id_process, row[each.child.parent_id_index])
            self.pending.setdefault(id(each.child), (each.child, []))[1].append(
                (parent_id, children, (*path, each.key))
            )
            return children
        return each.typename

    def sealed(self, read: SealedRead, row: Any) -> Any:
        sealed = row[read.index]
        if sealed is None:
            return None
        owner = _processed(read.owner_process, row[read.owner_index])
        opener = self.openers.get(owner)
        if opener is None:
            opener = self.openers[owner] = self.ring.opener_for(owner)
        row_id = _processed(read.id_process, row[read.id_index])
        clear = opener(sealed, read.aad_prefix + str(row_id).encode())
        if read.author_index is not None:
            author = _processed(read.author_process, row[read.author_index])
            if author is not None and str(author) == self.caller.subject:
                return clear
        return read.show(clear)

    def refuse(self, refused: Refused, path: Path) -> None:
        error = GraphQLError(
            refused.error.message,
            nodes=[refused.node],
            path=list(path),
            original_error=refused.error,
        )
        (self.deferred if refused.deferred else self.errors).append(error)

    async def children(self) -> None:
        """Fills in every child list the built objects are waiting for, a level at a time."""
        while self.pending:
            waiting, self.pending = self.pending, {}
            for level, entries in waiting.values():
                await self.child_level(level, entries)

    async def child_level(self, level: LevelPlan, entries: list[tuple[Any, Any, Path]]) -> None:
        parents = list(dict.fromkeys(parent for parent, _, _ in entries))
        if level.derive is not None:
            await self.derived_level(level, parents, entries)
            return
        assert level.parents_value is not None
        bindings = {"parents": level.parents_value(parents)}
        size = self.page_size(level) if level.connection is not None else 0
        if level.connection is not None:
            bindings["limit"] = size + 1
        rows = await self.fetch(level, bindings)
        self.open_keys(level, rows)
        by_parent: dict[Any, list[Any]] = {}
        for row in rows:
            parent = _processed(level.foreign_process, row[level.foreign_index])
            by_parent.setdefault(parent, []).append(row)
        for parent, target, path in entries:
            mine = by_parent.get(parent, [])
            if level.connection is not None:
                shown = self.connection_shape(
                    level.connection, level, mine[:size], len(mine) > size, False, path
                )
                target.update(shown)
                continue
            for index, row in enumerate(mine):
                target.append(self.object(level.object, row, (*path, index)))

    async def derived_level(
        self, level: LevelPlan, parents: list[Any], entries: list[tuple[Any, Any, Path]]
    ) -> None:
        """A derived list (recommendations) for every parent of the level: its records cut
        to the field's ``first``, each read as a row of the record's selected keys."""
        size = self.page_size(level)
        records = await level.derive(self.fetch_sql, parents, size)
        columns = level.record_columns
        for parent, target, path in entries:
            for index, record in enumerate(records.get(parent, [])):
                row = tuple(record[name] for name in columns)
                target.append(self.object(level.object, row, (*path, index)))

    def page_size(self, level: LevelPlan) -> int:
        """A child connection's ``first``, as its field validates it; any other argument
        is one the plan does not cover."""
        assert level.arguments is not None
        definition, node = level.arguments
        arguments = get_argument_values(definition, node, self.variables)
        return self.page_args(arguments, _UNPLANNED_CHILD_ARGUMENTS).size

    def page_args(self, arguments: dict[str, Any], unplanned: tuple[str, ...]) -> PageArgs:
        """A connection's ``first`` and ``after``, validated as its resolver validates them
        (an input error is the standard executor's to word); ``Fallback`` when an argument
        the plan does not cover is given."""
        if any(arguments.get(name) is not None for name in unplanned):
            raise Fallback("arguments the plan does not cover")
        settings = self.context.settings
        page: PageArgs = _or_fallback(
            lambda: PageArgs(first=arguments.get("first"), after=arguments.get("after")).validated(
                settings.default_page_size, settings.max_page_size
            )
        )
        return page


async def run_sql_plan(
    plan: SqlPlan, context: Context, variables: VariableValues
) -> tuple[dict[str, Any], list[GraphQLError]]:
    """The operation's ``data`` and its errors; ``Fallback`` when the compiled executor must
    answer instead."""
    try:
        async with context.db.driver_connection() as connection:
            run = PlannedRun(context, variables, connection)
            # A refused root fails as its resolver starts, before any other root's rows come
            # back, so its error comes first, as the standard executor meets it.
            for root in plan.roots:
                if root.refused is not None:
                    run.refuse(root.refused, (root.key,))
            run.errors.extend(run.deferred)
            run.deferred.clear()
            data = {}
            for root in plan.roots:
                data[root.key] = await run.root(root)
                run.errors.extend(run.deferred)
                run.deferred.clear()
            await run.children()
        # coded (and counted in the metrics) only once the answer is the plan's to give
        return data, [coded_error(error) for error in run.errors]
    except Fallback:
        raise
    except Exception as exc:
        raise Fallback(type(exc).__name__) from exc


def _processed(process: Any, value: Any) -> Any:
    return value if process is None or value is None else process(value)


def _leaf(read: LeafRead, row: Any) -> Any:
    value = row[read.index]
    if read.process is not None and value is not None:
        value = read.process(value)
    if value is None:
        if read.non_null:
            raise Fallback("null for a non-null field")
        return None
    if read.global_type is not None:
        return str(to_global_id(read.global_type, value))
    if read.convert is not None:
        value = read.convert(value)
    return read.serialize(value)


def _or_fallback(compute: Any) -> Any:
    """``compute()``; an input error is the standard executor's to report."""
    try:
        return compute()
    except DomainError as exc:
        raise Fallback(exc.message) from exc
