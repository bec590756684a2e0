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

from typing import Any

from graphql import (
    FieldNode,
    GraphQLObjectType,
    OperationDefinitionNode,
    OperationType,
    is_non_null_type,
)
from sqlalchemy import bindparam, select

from api.compiled.plan import collect_fields
from api.compiled.sql.building import SelectList, connection_shape
from api.compiled.sql.catalogue import (
    TYPES,
)
from api.compiled.sql.fields import FieldPlanner
from api.compiled.sql.plans import LevelPlan, ObjectPlan, RootPlan, SqlPlan
from api.compiled.sql.statement import (
    NotPlannable,
    prepare,
)
from resolvers.customers.segment_filter import SegmentFilter, filter_conditions
from resolvers.pagination import beyond
from resolvers.scoping import customer_scope


class Planner(FieldPlanner):
    """Plans an operation's root fields; ``FieldPlanner`` the objects below them."""

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
        refusal = self._refusal(definition, nodes[0])
        if refusal is not None:
            if is_non_null_type(definition.type):
                raise NotPlannable(f"a refused non-null root {name}")
            root.refused = refusal
            return root
        customers = TYPES["Customer"].table
        if name == "customers":
            root.connection, node_nodes = connection_shape(
                self.schema, self.fragments, definition.type, nodes
            )
            root.level = self._root_level(node_nodes, self._list_conditions(), paged=False)
            root.paged_level = self._root_level(node_nodes, self._list_conditions(), paged=True)
            return root
        if name == "me" and self.caller.customer_id is None:
            raise NotPlannable("`me` for a caller who is not a customer")
        one = customers.c.id == bindparam("id", type_=customers.c.id.type)
        conditions = [one, customer_scope(self.template)]  # as ``get_customer`` reads one
        root.level = self._root_level(nodes, conditions, paged=None)
        return root

    def _list_conditions(self) -> list[Any]:
        return list(filter_conditions(self.template, SegmentFilter()))

    def _root_level(
        self, nodes: list[FieldNode], conditions: list[Any], *, paged: bool | None
    ) -> LevelPlan:
        customers = TYPES["Customer"].table
        query = SelectList(customers)
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
