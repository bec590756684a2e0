"""Plans a query as SQL, once per (operation, caller's shape): one statement per list level.

The page of a root list is one statement: the root table, every to-one object the selection
reaches joined in (a customer's tier and branch), and the customer's stored key when a sealed
value is shown. Each child list (a customer's cards) is one more statement for the whole
page, by ``= ANY($1)`` on PostgreSQL (a JSON array on SQLite). Only the columns the selection
needs are read; a sealed column a caller is DENIED is never selected, and the field is planned
as its refusal: null and FORBIDDEN at its path, the error the policy extension raises.

Who may see what is decided here, for the caller's role and scopes, by the schema's own
declarations (``auth.policy`` rows and ``scoped_field`` scopes) and the same functions the
field extensions call; row scope is the resolvers' own condition (``filter_conditions``,
``customer_scope``) built for a template caller whose identity each request fills in
(``api.compiled.sql.statement``). What the planner does not know raises ``NotPlannable``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)
from sqlalchemy import ColumnElement, Table, any_, bindparam, func, select
from sqlalchemy import column as sql_column
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import FromClause
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from api.compiled.plan import collect_fields, declarations
from api.compiled.sql.catalogue import (
    TYPES,
    ChildConnection,
    ChildList,
    Column,
    Computed,
    Embedded,
    GlobalId,
    Sealed,
    ToOne,
    TypeSource,
)
from api.compiled.sql.statement import (
    TEMPLATE_BRANCH,
    TEMPLATE_MERCHANT,
    TEMPLATE_SUBJECT,
    NotPlannable,
    PreparedSql,
    prepare,
)
from auth.policy import Access, FieldRule
from core.encryption import aad_for
from core.errors import Forbidden
from core.identity import Principal, PrincipalKind
from models.keys import CustomerKey
from models.privacy.subjects import SUBJECTS
from resolvers.customers.segment_filter import SegmentFilter, filter_conditions
from resolvers.pagination import beyond
from resolvers.scoping import customer_scope
from schema.policy_field import showing
from schema.scope_field import Needs

CallerShape = tuple[PrincipalKind, str, frozenset[str], bool, bool]


def caller_shape(caller: Principal) -> CallerShape:
    """What a plan depends on of the caller: everything but its identity."""
    return (
        caller.kind,
        caller.role.value,
        frozenset(caller.scopes),
        caller.branch_id is None,
        caller.merchant_id is None,
    )


def template_of(caller: Principal) -> Principal:
    """The caller with template identities (``statement.TEMPLATE_*``) in place of its own."""
    return dataclasses.replace(
        caller,
        subject=str(TEMPLATE_SUBJECT),
        branch_id=None if caller.branch_id is None else TEMPLATE_BRANCH,
        merchant_id=None if caller.merchant_id is None else TEMPLATE_MERCHANT,
    )


# --- What a plan is made of -------------------------------------------------------------


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
    read: Callable[..., Any] | None = None  # (row, run, path) -> value, for leaves
    leaf: LeafRead | None = None
    computed: ComputedRead | None = None
    sealed: SealedRead | None = None
    refused: Refused | None = None
    object: ObjectPlan | None = None  # an embedded or joined object, from the same row
    object_id: int | None = None  # the joined row's id column: null object when null
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


@dataclass
class RootPlan:
    key: str
    field_name: str
    node: FieldNode
    definition: GraphQLField | None
    refused: Refused | None = None
    typename: str | None = None
    level: LevelPlan | None = None  # the root's rows
    paged_level: LevelPlan | None = None  # the same with ``after``
    connection: ConnectionShape | None = None


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


# --- Planning ---------------------------------------------------------------------------


class _Select:
    """The columns and joins of one statement under construction."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.source: FromClause = table
        self.columns: list[ColumnElement[Any]] = []
        self._indexes: dict[Any, int] = {}
        self._joins: dict[tuple[str, ...], FromClause] = {}

    def add(self, column: ColumnElement[Any]) -> int:
        index = self._indexes.get(column)
        if index is None:
            index = self._indexes[column] = len(self.columns)
            self.columns.append(column)
        return index

    def join(self, path: tuple[str, ...], target: Table, on: Callable[[Any], Any]) -> Any:
        joined = self._joins.get(path)
        if joined is None:
            joined = target.alias("_".join(path))
            self.source = self.source.outerjoin(joined, on(joined))
            self._joins[path] = joined
        return joined


class Planner:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        caller: Principal,
        dialect: Dialect,
    ) -> None:
        self.schema = schema
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.caller = caller
        self.template = template_of(caller)
        self.dialect = dialect

    def plan(self, operation: OperationDefinitionNode) -> SqlPlan:
        if operation.operation is not OperationType.QUERY or operation.directives:
            raise NotPlannable("only queries without directives are planned")
        query_type = self.schema.query_type
        assert query_type is not None
        grouped = collect_fields(self.schema, self.fragments, query_type, [operation.selection_set])
        return SqlPlan(operation, [self._root(query_type, k, n) for k, n in grouped.items()])

    # Roots

    def _root(self, query: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> RootPlan:
        name = nodes[0].name.value
        if name == "__typename":
            return RootPlan(key, name, nodes[0], None, typename=query.name)
        definition = query.fields.get(name)
        if definition is None or name not in ("customers", "customer", "me"):
            raise NotPlannable(f"root field {name}")
        root = RootPlan(key, name, nodes[0], definition)
        refusal = self._refusal(definition, nodes[0], None)
        if refusal is not None:
            if is_non_null_type(definition.type):
                raise NotPlannable(f"a refused non-null root {name}")
            root.refused = refusal
            return root
        customers = TYPES["Customer"].table
        if name == "customers":
            root.connection, node_nodes = self._connection_shape(definition.type, nodes)
            root.level = self._root_level(node_nodes, self._list_conditions(), paged=False)
            root.paged_level = self._root_level(node_nodes, self._list_conditions(), paged=True)
            return root
        if name == "me" and self.caller.customer_id is None:
            raise NotPlannable("`me` for a caller who is not a customer")
        one = customers.c.id == bindparam("id", type_=customers.c.id.type)
        conditions = [one, customer_scope(self.template)]  # as ``get_customer`` reads one
        root.level = self._root_level(self._selections(nodes), conditions, paged=None)
        return root

    def _list_conditions(self) -> list[Any]:
        return list(filter_conditions(self.template, SegmentFilter()))

    def _root_level(
        self, nodes: list[FieldNode], conditions: list[Any], *, paged: bool | None
    ) -> LevelPlan:
        customers = TYPES["Customer"].table
        query = _Select(customers)
        created, row_id = query.add(customers.c.created_at), query.add(customers.c.id)
        level = LevelPlan(None, ObjectPlan("Customer"))
        level.object = self._object("Customer", nodes, query, level, ("customers",))
        level.cursor_columns = (created, row_id)
        statement = select(*query.columns).select_from(query.source).where(*conditions)
        if paged is not None:
            if paged:
                after = (
                    bindparam("after_created", type_=customers.c.created_at.type),
                    bindparam("after_id", type_=customers.c.id.type),
                )
                statement = statement.where(
                    beyond(customers.c.created_at, customers.c.id, after, False)
                )
            statement = statement.order_by(
                customers.c.created_at.desc(), customers.c.id.desc()
            ).limit(bindparam("limit", literal_execute=False))
        bound = frozenset({"id", "after_created", "after_id", "limit"})
        level.statement = prepare(statement, self.dialect, bound)
        level.cursor_process = (
            level.statement.processor(created),
            level.statement.processor(row_id),
        )
        self._finish(level, query)
        return level

    def _connection_shape(
        self, type_: GraphQLOutputType, nodes: list[FieldNode]
    ) -> tuple[ConnectionShape, list[FieldNode]]:
        connection = get_named_type(type_)
        assert isinstance(connection, GraphQLObjectType)
        fields: list[tuple[str, str]] = []
        edge: list[tuple[str, str]] = []
        page_info: list[tuple[str, str]] = []
        node_nodes: list[FieldNode] = []
        edge_type = get_named_type(connection.fields["edges"].type)
        info_type = get_named_type(connection.fields["pageInfo"].type)
        assert isinstance(edge_type, GraphQLObjectType)
        assert isinstance(info_type, GraphQLObjectType)
        for key, parts in collect_fields(
            self.schema, self.fragments, connection, self._selection_sets(nodes)
        ).items():
            name = parts[0].name.value
            fields.append((key, name))
            if name == "edges":
                for edge_key, edge_parts in collect_fields(
                    self.schema, self.fragments, edge_type, self._selection_sets(parts)
                ).items():
                    edge_name = edge_parts[0].name.value
                    edge.append((edge_key, edge_name))
                    if edge_name == "node":
                        if len(edge) > 1 and any(n == "node" for _, n in edge[:-1]):
                            raise NotPlannable("two aliases of node")
                        node_nodes = edge_parts
            elif name == "pageInfo":
                for info_key, info_parts in collect_fields(
                    self.schema, self.fragments, info_type, self._selection_sets(parts)
                ).items():
                    page_info.append((info_key, info_parts[0].name.value))
            elif name != "__typename":
                raise NotPlannable(f"{connection.name}.{name}")
        shape = ConnectionShape(
            tuple(fields), tuple(edge), tuple(page_info), connection.name, edge_type.name
        )
        return shape, self._selections(node_nodes) if node_nodes else []

    @staticmethod
    def _selection_sets(nodes: Sequence[FieldNode]) -> list[Any]:
        return [node.selection_set for node in nodes if node.selection_set]

    def _selections(self, nodes: Sequence[FieldNode]) -> list[FieldNode]:
        return list(nodes)

    # Objects

    def _object(
        self,
        type_name: str,
        nodes: Sequence[FieldNode],
        query: _Select,
        level: LevelPlan,
        path: tuple[str, ...],
        table: Any = None,
    ) -> ObjectPlan:
        source = TYPES.get(type_name)
        graphql_type = self.schema.get_type(type_name)
        if source is None or not isinstance(graphql_type, GraphQLObjectType):
            raise NotPlannable(f"type {type_name}")
        table = table if table is not None else source.table
        plan = ObjectPlan(type_name)
        grouped = collect_fields(
            self.schema, self.fragments, graphql_type, self._selection_sets(nodes)
        )
        for key, parts in grouped.items():
            plan.fields.append(
                self._field(graphql_type, source, table, key, parts, query, level, path)
            )
        return plan

    def _field(
        self,
        parent: GraphQLObjectType,
        source: TypeSource,
        table: Any,
        key: str,
        parts: list[FieldNode],
        query: _Select,
        level: LevelPlan,
        path: tuple[str, ...],
    ) -> FieldPlan:
        name = parts[0].name.value
        if name == "__typename":
            return FieldPlan(key, typename=parent.name)
        definition = parent.fields[name]
        where = source.fields.get(name)
        if where is None:
            raise NotPlannable(f"{parent.name}.{name}")
        if parts[0].arguments and not isinstance(where, ChildConnection):
            raise NotPlannable(f"{parent.name}.{name} with arguments")
        rule, refusal = self._access(definition, parts[0])
        if refusal is not None:
            if is_non_null_type(definition.type):
                raise NotPlannable(f"a refused non-null {parent.name}.{name}")
            return FieldPlan(key, refused=refusal)
        if isinstance(where, Sealed):
            return FieldPlan(key, sealed=self._sealed(table, where, rule, query, level))
        if rule is not None and self._level_of(rule) is not Access.CLEAR and rule.mask is not None:
            raise NotPlannable(f"a masked column {parent.name}.{name}")
        if isinstance(where, Column | GlobalId):
            return FieldPlan(key, leaf=self._leaf(definition, table, where, query))
        if isinstance(where, Computed):
            indexes = tuple(query.add(table.c[name]) for name in where.columns)
            serialize = _serializer(definition.type)
            read = ComputedRead(indexes, (None,) * len(indexes), where.compute, serialize)
            return FieldPlan(key, computed=read)
        if isinstance(where, Embedded):
            inner = self._object(where.type_name, parts, query, level, path, table)
            return FieldPlan(key, object=inner)
        if isinstance(where, ToOne):
            return self._to_one(definition, key, parts, where, table, query, level, path)
        if isinstance(where, ChildConnection):
            child = self._child_connection(definition, key, parts, where, table, query)
            return FieldPlan(key, child=child)
        return FieldPlan(key, child=self._child(definition, key, parts, where, table, query))

    def _level_of(self, rule: FieldRule) -> Access:
        """The caller's access as the policy row states it (OWN_CLEAR not yet decided: that
        depends on each record's author)."""
        if rule.scope not in self.caller.scopes:
            return Access.DENIED
        return rule.access.get(self.caller.role, Access.DENIED)

    def _access(
        self, definition: GraphQLField, node: FieldNode
    ) -> tuple[FieldRule | None, Refused | None]:
        """The field's policy rule, and its refusal when this caller may not see it."""
        rule, _needs = self._declared(definition)
        return rule, self._refusal(definition, node, rule)

    def _declared(self, definition: GraphQLField) -> tuple[FieldRule | None, Needs | None]:
        strawberry_field = definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(strawberry_field, StrawberryField):
            raise NotPlannable("not a strawberry field")
        return declarations(strawberry_field)

    def _refusal(
        self, definition: GraphQLField, node: FieldNode, rule: FieldRule | None
    ) -> Refused | None:
        rule, needs = self._declared(definition)
        try:
            if needs is not None:
                needs.check(self.caller)
            if rule is not None and self._level_of(rule) is Access.DENIED:
                raise Forbidden(f"{rule.type_name}.{rule.field_name} is not visible to this caller")
        except Forbidden as refusal:
            strawberry_field = definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            return Refused(refusal, node, deferred=bool(getattr(strawberry_field, "is_async", 0)))
        return None

    def _leaf(
        self, definition: GraphQLField, table: Any, where: Column | GlobalId, query: _Select
    ) -> LeafRead:
        named = get_named_type(definition.type)
        if not is_leaf_type(named) and not (
            is_list_type(_nullable(definition.type))
            and is_leaf_type(get_named_type(definition.type))
        ):
            raise NotPlannable("a leaf of an object type")
        serialize = _serializer(definition.type)
        if isinstance(where, GlobalId):
            index = query.add(table.c[where.column])
            non_null = is_non_null_type(definition.type)
            return LeafRead(index, None, None, serialize, non_null, global_type=where.type_name)
        index = query.add(table.c[where.name])
        return LeafRead(index, None, where.convert, serialize, is_non_null_type(definition.type))

    def _sealed(
        self,
        table: Any,
        where: Sealed,
        rule: FieldRule | None,
        query: _Select,
        level: LevelPlan,
    ) -> SealedRead:
        if rule is None:
            raise NotPlannable("a sealed field without a policy rule")
        access = self._level_of(rule)
        base: Table = table.element if hasattr(table, "element") else table
        column = f"{where.field}_enc"
        index, id_index = query.add(table.c[column]), query.add(table.c.id)
        owner = self._customer_keys(base, table, query, level)
        prefix = aad_for(base.name, column, "")
        author: int | None = None
        if access is Access.OWN_CLEAR:  # clear for the record's author, masked for others
            if where.author is None:
                raise NotPlannable(f"{base.name}.{column}: OWN_CLEAR without an author column")
            author, access = query.add(table.c[where.author]), Access.MASKED
        read = SealedRead(index, id_index, None, owner, None, prefix, showing(rule, access))
        return dataclasses.replace(read, author_index=author)

    def _customer_keys(self, base: Table, table: Any, query: _Select, level: LevelPlan) -> int:
        """The column of the row's customer; and, unless the parent level's rows are those
        customers, their stored keys joined in, so a new process opens them from the page's
        own statement instead of asking for them apart."""
        subject = SUBJECTS.get(base.name)
        if subject is None or subject.parent is not None:
            raise NotPlannable(f"{base.name}: its customer is not on the row")
        owner = table.c[subject.column]
        owner_index = query.add(owner)
        if level.key_columns is None and not level.keys_from_parent:
            keys: Table = CustomerKey.__table__  # type: ignore[attr-defined]
            joined = query.join(("keys",), keys, lambda k: k.c.customer_id == owner)
            level.key_columns = (
                owner_index,
                query.add(joined.c.data_key_version),
                query.add(joined.c.wrapped_key),
            )
        return owner_index

    def _to_one(
        self,
        definition: GraphQLField,
        key: str,
        parts: list[FieldNode],
        where: ToOne,
        table: Any,
        query: _Select,
        level: LevelPlan,
        path: tuple[str, ...],
    ) -> FieldPlan:
        target = TYPES.get(where.type_name)
        if target is None:
            raise NotPlannable(f"type {where.type_name}")
        local = table.c[where.column]
        joined_path = (*path, key)
        joined = query.join(joined_path, target.table, lambda other: other.c.id == local)
        inner = self._object(where.type_name, parts, query, level, joined_path, joined)
        if any(f.refused or f.sealed for f in inner.fields):
            raise NotPlannable("a joined object with fields this caller may not see")
        plan = FieldPlan(key, object=inner, object_id=query.add(joined.c.id))
        if is_non_null_type(definition.type):
            plan.typename = None
        return plan

    def _child(
        self,
        definition: GraphQLField,
        key: str,
        parts: list[FieldNode],
        where: ChildList,
        parent_table: Any,
        parent_query: _Select,
    ) -> LevelPlan:
        target = TYPES.get(where.type_name)
        if target is None or not is_list_type(_nullable(definition.type)):
            raise NotPlannable(f"child list of {where.type_name}")
        table = target.table
        query = _Select(table)
        foreign = query.add(table.c[where.foreign])
        level = LevelPlan(None, ObjectPlan(where.type_name), key=key, foreign_index=foreign)
        # the parent's rows are the children's customers: their keys were opened with them
        level.keys_from_parent = _parents_are_owners(parent_table, table, where.foreign)
        level.object = self._object(where.type_name, parts, query, level, (key,))
        parents = _parents_condition(table.c[where.foreign], self.dialect)
        level.parents_value = _parents_value(table.c[where.foreign], self.dialect)
        order = [table.c[name] for name in where.order]
        statement = select(*query.columns).select_from(query.source).where(parents).order_by(*order)
        level.statement = prepare(statement, self.dialect, frozenset({"parents"}))
        level.parent_id_index = parent_query.add(parent_table.c.id)
        self._finish(level, query)
        return level

    def _child_connection(
        self,
        definition: GraphQLField,
        key: str,
        parts: list[FieldNode],
        where: ChildConnection,
        parent_table: Any,
        parent_query: _Select,
    ) -> LevelPlan:
        """Each parent's first rows of a connection, for the whole level in one statement:
        numbered per parent newest first, as the field's DataLoader numbers them."""
        target = TYPES.get(where.type_name)
        if target is None or len(parts) > 1:
            raise NotPlannable(f"connection of {where.type_name}")
        shape, node_nodes = self._connection_shape(definition.type, parts)
        table = target.table
        query = _Select(table)
        foreign = query.add(table.c[where.foreign])
        at, row_id = (table.c[name] for name in where.order)
        level = LevelPlan(None, ObjectPlan(where.type_name), key=key, foreign_index=foreign)
        level.connection, level.arguments = shape, (definition, parts[0])
        level.keys_from_parent = _parents_are_owners(parent_table, table, where.foreign)
        level.cursor_columns = (query.add(at), query.add(row_id))
        level.object = self._object(where.type_name, node_nodes, query, level, (key,))
        level.parents_value = _parents_value(table.c[where.foreign], self.dialect)
        rank = func.row_number().over(
            partition_by=table.c[where.foreign], order_by=(at.desc(), row_id.desc())
        )
        labelled = [column.label(f"c{i}") for i, column in enumerate(query.columns)]
        scope = where.scope(self.template) if where.scope is not None else []
        numbered = (
            select(*labelled, rank.label("rank"))
            .select_from(query.source)
            .where(_parents_condition(table.c[where.foreign], self.dialect), *scope)
            .subquery()
        )
        statement = (
            select(*(numbered.c[f"c{i}"] for i in range(len(labelled))))
            .where(numbered.c.rank <= bindparam("limit"))
            .order_by(numbered.c[f"c{foreign}"], numbered.c.rank)
        )
        level.statement = prepare(statement, self.dialect, frozenset({"parents", "limit"}))
        level.parent_id_index = parent_query.add(parent_table.c.id)
        level.cursor_process = (
            level.statement.processor(level.cursor_columns[0]),
            level.statement.processor(level.cursor_columns[1]),
        )
        self._finish(level, query)
        return level

    def _finish(self, level: LevelPlan, query: _Select) -> None:
        """Fills in each read's result processor now that the statement is compiled."""
        statement = level.statement
        assert statement is not None
        level.foreign_process = statement.processor(level.foreign_index)
        if level.key_columns is not None:
            level.key_process = statement.processor(level.key_columns[0])
        _with_processors(level.object, statement)


def _with_processors(plan: ObjectPlan, statement: PreparedSql) -> None:
    for each in plan.fields:
        if each.leaf is not None:
            each.leaf = dataclasses.replace(each.leaf, process=statement.processor(each.leaf.index))
        elif each.computed is not None:
            each.computed = dataclasses.replace(
                each.computed,
                processes=tuple(statement.processor(i) for i in each.computed.indexes),
            )
        elif each.sealed is not None:
            each.sealed = dataclasses.replace(
                each.sealed,
                id_process=statement.processor(each.sealed.id_index),
                owner_process=statement.processor(each.sealed.owner_index),
                author_process=(
                    None
                    if each.sealed.author_index is None
                    else statement.processor(each.sealed.author_index)
                ),
            )
        elif each.object is not None:
            _with_processors(each.object, statement)
        elif each.child is not None:
            child = each.child
            child.parent_id_process = statement.processor(child.parent_id_index)


def _parents_are_owners(parent: Any, child: Table, foreign: str) -> bool:
    """The child rows' customers are the parent rows themselves (a customer's cards): the
    parent level opened their keys already."""
    parent_subject, child_subject = SUBJECTS.get(parent.name), SUBJECTS.get(child.name)
    return (
        parent_subject is not None
        and parent_subject.column == "id"
        and child_subject is not None
        and child_subject.column == foreign
    )


def _parents_condition(foreign: Any, dialect: Dialect) -> Any:
    """``foreign`` names one of the request's parents: ``= ANY($1)`` over a uuid array on
    PostgreSQL; on SQLite, membership in a JSON array of the ids as stored."""
    if dialect.name == "postgresql":
        return foreign == any_(bindparam("parents", type_=ARRAY(foreign.type)))
    if dialect.name == "sqlite":
        values = func.json_each(bindparam("parents")).table_valued("value")
        return foreign.in_(select(sql_column("value")).select_from(values))
    raise NotPlannable(f"dialect {dialect.name}")


def _parents_value(foreign: Any, dialect: Dialect) -> Callable[[list[Any]], Any]:
    """The parents' ids as ``_parents_condition`` takes them."""
    if dialect.name == "postgresql":
        return list
    stored = foreign.type.bind_processor(dialect)
    if stored is None:
        return lambda ids: json.dumps([str(each) for each in ids])
    return lambda ids: json.dumps([stored(each) for each in ids])


def _nullable(type_: GraphQLOutputType) -> GraphQLOutputType:
    return type_.of_type if is_non_null_type(type_) else type_  # type: ignore[union-attr]


def _serializer(type_: GraphQLOutputType) -> Callable[[Any], Any]:
    inner = _nullable(type_)
    if is_list_type(inner):
        item: Any = get_named_type(inner)
        serialize_item = item.serialize
        return lambda values: [serialize_item(value) for value in values]
    return inner.serialize  # type: ignore[union-attr]
