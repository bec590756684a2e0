"""The pieces a plan's statements are built from: the select list under construction, the
condition and parameter that name a level's parents, and what reads a row's values once the
statement is compiled (result processors, GraphQL serializers)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    get_named_type,
    is_list_type,
    is_non_null_type,
)
from sqlalchemy import ColumnElement, Table, any_, bindparam, func, select
from sqlalchemy import column as sql_column
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import FromClause

from api.compiled.plan import collect_fields
from api.compiled.sql.plans import ConnectionShape, ObjectPlan
from api.compiled.sql.statement import (
    NotPlannable,
    PreparedSql,
)
from models.privacy.subjects import SUBJECTS


class SelectList:
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


def with_processors(plan: ObjectPlan, statement: PreparedSql) -> None:
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
            with_processors(each.object, statement)
        elif each.child is not None:
            child = each.child
            child.parent_id_process = statement.processor(child.parent_id_index)


def parents_are_owners(parent: Any, child: Table, foreign: str) -> bool:
    """The child rows' customers are the parent rows themselves (a customer's cards): the
    parent level opened their keys already."""
    parent_subject, child_subject = SUBJECTS.get(parent.name), SUBJECTS.get(child.name)
    return (
        parent_subject is not None
        and parent_subject.column == "id"
        and child_subject is not None
        and child_subject.column == foreign
    )


def parents_condition(foreign: Any, dialect: Dialect) -> Any:
    """``foreign`` names one of the request's parents: ``= ANY($1)`` over a uuid array on
    PostgreSQL; on SQLite, membership in a JSON array of the ids as stored."""
    if dialect.name == "postgresql":
        return foreign == any_(bindparam("parents", type_=ARRAY(foreign.type)))
    if dialect.name == "sqlite":
        values = func.json_each(bindparam("parents")).table_valued("value")
        return foreign.in_(select(sql_column("value")).select_from(values))
    raise NotPlannable(f"dialect {dialect.name}")


def parents_value(foreign: Any, dialect: Dialect) -> Callable[[list[Any]], Any]:
    """The parents' ids as ``parents_condition`` takes them."""
    if dialect.name == "postgresql":
        return list
    stored = foreign.type.bind_processor(dialect)
    if stored is None:
        return lambda ids: json.dumps([str(each) for each in ids])
    return lambda ids: json.dumps([stored(each) for each in ids])


def nullable_of(type_: GraphQLOutputType) -> GraphQLOutputType:
    return type_.of_type if is_non_null_type(type_) else type_  # type: ignore[union-attr]


def serializer(type_: GraphQLOutputType) -> Callable[[Any], Any]:
    inner = nullable_of(type_)
    if is_list_type(inner):
        item: Any = get_named_type(inner)
        serialize_item = item.serialize
        return lambda values: [serialize_item(value) for value in values]
    return inner.serialize  # type: ignore[union-attr]


def selection_sets(nodes: Sequence[FieldNode]) -> list[Any]:
    return [node.selection_set for node in nodes if node.selection_set]


def connection_shape(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    type_: GraphQLOutputType,
    nodes: list[FieldNode],
) -> tuple[ConnectionShape, list[FieldNode]]:
    """Which parts of a connection ``nodes`` select, and the ``node`` fields' nodes."""
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
    for key, parts in collect_fields(schema, fragments, connection, selection_sets(nodes)).items():
        name = parts[0].name.value
        fields.append((key, name))
        if name == "edges":
            for edge_key, edge_parts in collect_fields(
                schema, fragments, edge_type, selection_sets(parts)
            ).items():
                edge_name = edge_parts[0].name.value
                edge.append((edge_key, edge_name))
                if edge_name == "node":
                    if len(edge) > 1 and any(n == "node" for _, n in edge[:-1]):
                        raise NotPlannable("two aliases of node")
                    node_nodes = edge_parts
        elif name == "pageInfo":
            for info_key, info_parts in collect_fields(
                schema, fragments, info_type, selection_sets(parts)
            ).items():
                page_info.append((info_key, info_parts[0].name.value))
        elif name != "__typename":
            raise NotPlannable(f"{connection.name}.{name}")
    shape = ConnectionShape(
        tuple(fields), tuple(edge), tuple(page_info), connection.name, edge_type.name
    )
    return shape, node_nodes
