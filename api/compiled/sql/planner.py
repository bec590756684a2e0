"""Plans a query as SQL, once per (operation, caller's shape): one statement per list level.

The page of a root list is one statement: the root table, every to-one object the selection
reaches joined in (a customer's tier and branch), and the customer's stored key when a sealed
value is shown; a root list's filter fields (``catalogue.ROOT_LISTS``) are conditions of
it, one statement per set of fields given. Each child list (a customer's cards) is one more
statement for the whole page, by ``= ANY($1)`` on PostgreSQL (a JSON array on SQLite); a
derived list (recommendations) is its own statements for the whole page. Only the columns
the selection needs are read; a sealed column a caller is DENIED is never selected, and the
field is planned as its refusal: null and FORBIDDEN at its path, the error the policy
extension raises. A root the caller is refused, and a namespace root (``analytics``) whose
selected fields are all refused, are planned as their refusals with no statement.

Who may see what is decided here, for the caller's role and scopes, by the schema's own
declarations (``auth.policy`` rows and ``scoped_field`` scopes) and the same functions the
field extensions call; row scope is the resolvers' own condition (``filter_conditions``,
``customer_scope``, ``complaint_conditions``) built for a template caller whose identity each
request fills in (``api.compiled.sql.statement``). What the planner does not know raises
``NotPlannable``.
"""

from __future__ import annotations

from graphql import (
    FieldNode,
    GraphQLObjectType,
    OperationDefinitionNode,
    OperationType,
    is_non_null_type,
)
from sqlalchemy import bindparam, select

from api.compiled.plan import collect_fields
from api.compiled.sql.building import SelectList, connection_shape, selection_sets
from api.compiled.sql.catalogue import NAMESPACES, ROOT_LISTS, TYPES, RootList
from api.compiled.sql.fields import FieldPlanner
from api.compiled.sql.plans import (
    FieldPlan,
    LevelPlan,
    ListStatements,
    ObjectPlan,
    RootPlan,
    SqlPlan,
)
from api.compiled.sql.statement import NotPlannable, PreparedSql, prepare
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
        if definition is None:
            raise NotPlannable(f"root field {name}")
        root = RootPlan(key, name, nodes[0], definition)
        refusal = self._refusal(definition, nodes[0])
        if refusal is not None:  # any root: refused before its resolver runs
            if is_non_null_type(definition.type):
                raise NotPlannable(f"a refused non-null root {name}")
            root.refused = refusal
            return root
        if name in NAMESPACES:
            root.namespace = self._namespace(NAMESPACES[name], nodes)
            return root
        if name not in (*ROOT_LISTS, "customer", "me"):
            raise NotPlannable(f"root field {name}")
        listed = ROOT_LISTS.get(name)
        if listed is not None:
            root.connection, node_nodes = connection_shape(
                self.schema, self.fragments, definition.type, nodes
            )
            root.level, root.list_statements = self._root_list(listed, node_nodes)
            return root
        if name == "me" and self.caller.customer_id is None:
            raise NotPlannable("`me` for a caller who is not a customer")
        customers = TYPES["Customer"].table
        one = customers.c.id == bindparam("id", type_=customers.c.id.type)
        conditions = [one, customer_scope(self.template)]  # as ``get_customer`` reads one
        level, rows = self._root_rows("Customer", nodes)
        statement = select(*rows.columns).select_from(rows.source).where(*conditions)
        level.statement = prepare(statement, self.dialect, frozenset({"id"}))
        self._finish(level, rows)
        root.level = level
        return root

    def _namespace(self, type_name: str, nodes: list[FieldNode]) -> ObjectPlan:
        """A namespace root (``analytics``) whose every selected field this caller is
        refused: planned as those refusals, with no statement. A field the caller may see
        is the resolvers' to answer (``NotPlannable``)."""
        graphql_type = self.schema.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType)
        plan = ObjectPlan(type_name)
        grouped = collect_fields(self.schema, self.fragments, graphql_type, selection_sets(nodes))
        for key, parts in grouped.items():
            name = parts[0].name.value
            if name == "__typename":
                plan.fields.append(FieldPlan(key, typename=type_name))
                continue
            definition = graphql_type.fields[name]
            refusal = self._refusal(definition, parts[0])
            if refusal is None or is_non_null_type(definition.type):
                raise NotPlannable(f"{type_name}.{name} for a caller who may see it")
            plan.fields.append(FieldPlan(key, refused=refusal))
        return plan

    def _root_rows(self, type_name: str, nodes: list[FieldNode]) -> tuple[LevelPlan, SelectList]:
        """The root's rows' object and select list, with their (created_at, id) first."""
        table = TYPES[type_name].table
        query = SelectList(table)
        level = LevelPlan(None, ObjectPlan(type_name))
        level.cursor_columns = (query.add(table.c.created_at), query.add(table.c.id))
        level.object = self._object(type_name, nodes, query, level, (table.name,))
        return level, query

    def _root_list(
        self, listed: RootList, nodes: list[FieldNode]
    ) -> tuple[LevelPlan, ListStatements]:
        """A root connection's page: newest first, past ``after`` when given, narrowed by
        the filter fields given; its statements differ only in their conditions."""
        table = TYPES[listed.type_name].table
        level, query = self._root_rows(listed.type_name, nodes)

        def build(given: frozenset[str], after: bool) -> PreparedSql:
            filters = {
                name: bindparam(f"filter_{name}", type_=table.c[name].type) for name in given
            }
            statement = (
                select(*query.columns)
                .select_from(query.source)
                .where(*listed.conditions(self.template, filters))
            )
            if after:
                cursor = (
                    bindparam("after_created", type_=table.c.created_at.type),
                    bindparam("after_id", type_=table.c.id.type),
                )
                statement = statement.where(beyond(table.c.created_at, table.c.id, cursor, False))
            statement = statement.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(
                bindparam("limit", literal_execute=False)
            )
            bound = {"after_created", "after_id", "limit", *(f"filter_{n}" for n in given)}
            return prepare(statement, self.dialect, frozenset(bound))

        statements = ListStatements(listed.filters, build)
        level.statement = statements.get(frozenset(), False)
        self._finish(level, query)
        return level, statements
