"""Planning an object's fields from a row: columns, sealed cells, computed values, refusals,
to-one objects joined in, and child lists and connections read a level at a time.

The caller's access is decided here, per (role, scopes), from the schema's own declarations
(``auth.policy`` rows, ``scoped_field`` scopes): a DENIED field is its refusal, a masked one
its mask, an OWN_CLEAR one decided per row by the record's author column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)
from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.engine import Dialect
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from api.compiled.plan import collect_fields, declarations
from api.compiled.sql.building import (
    SelectList,
    connection_shape,
    nullable_of,
    parents_are_owners,
    parents_condition,
    parents_value,
    selection_sets,
    serializer,
    with_processors,
)
from api.compiled.sql.catalogue import (
    TYPES,
    ChildConnection,
    ChildList,
    Column,
    Computed,
    Derived,
    Embedded,
    GlobalId,
    Sealed,
    ToOne,
    TypeSource,
)
from api.compiled.sql.plans import (
    ComputedRead,
    FieldPlan,
    LeafRead,
    LevelPlan,
    ObjectPlan,
    Refused,
    SealedRead,
)
from api.compiled.sql.statement import (
    NotPlannable,
    prepare,
    template_of,
)
from auth.policy import Access, FieldRule
from core.encryption import aad_for
from core.errors import Forbidden
from core.identity import Principal
from models.keys import CustomerKey
from models.privacy.subjects import SUBJECTS
from schema.policy_field import access_to, showing
from schema.scope_field import Needs


class FieldPlanner:
    """The planner's part below the roots (``Planner`` adds them)."""

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

    # Objects

    def _object(
        self,
        type_name: str,
        nodes: Sequence[FieldNode],
        query: SelectList,
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
        grouped = collect_fields(self.schema, self.fragments, graphql_type, selection_sets(nodes))
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
        query: SelectList,
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
        if parts[0].arguments and not isinstance(where, ChildConnection | Derived):
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
            indexes = tuple(query.add(table.c[column]) for column in where.columns)
            serialize = serializer(definition.type)
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
        if isinstance(where, Derived):
            return FieldPlan(key, child=self._derived(definition, key, parts, where, table, query))
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
        rule, _ = self._declared(definition)
        return rule, self._refusal(definition, node)

    def _declared(self, definition: GraphQLField) -> tuple[FieldRule | None, Needs | None]:
        strawberry_field = definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if not isinstance(strawberry_field, StrawberryField):
            raise NotPlannable("not a strawberry field")
        return declarations(strawberry_field)

    def _refusal(self, definition: GraphQLField, node: FieldNode) -> Refused | None:
        """The field's FORBIDDEN for this caller, raised by the same checks as its field
        extensions raise it (``Needs.check``, ``access_to``); None when it may be seen."""
        rule, needs = self._declared(definition)
        try:
            if needs is not None:
                needs.check(self.caller)
            if rule is not None:
                access_to(rule, self.caller, None)
        except Forbidden as refusal:
            strawberry_field = definition.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
            return Refused(refusal, node, deferred=bool(getattr(strawberry_field, "is_async", 0)))
        return None

    def _leaf(
        self, definition: GraphQLField, table: Any, where: Column | GlobalId, query: SelectList
    ) -> LeafRead:
        named = get_named_type(definition.type)
        if not is_leaf_type(named) and not (
            is_list_type(nullable_of(definition.type))
            and is_leaf_type(get_named_type(definition.type))
        ):
            raise NotPlannable("a leaf of an object type")
        serialize = serializer(definition.type)
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
        query: SelectList,
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
        show = showing(rule, access)
        return SealedRead(index, id_index, None, owner, None, prefix, show, author_index=author)

    def _customer_keys(self, base: Table, table: Any, query: SelectList, level: LevelPlan) -> int:
        """The column of the row's customer; and, unless the parent level's rows are those
        customers, their stored keys read with them, so a new process opens them from the
        page's own statement instead of asking for them apart."""
        subject = SUBJECTS.get(base.name)
        if subject is None or subject.parent is not None:
            raise NotPlannable(f"{base.name}: its customer is not on the row")
        owner = table.c[subject.column]
        owner_index = query.add(owner)
        if level.key_columns is None and not level.keys_from_parent:
            # read per row shown: a join would be made before a sorted page is cut to size
            keys: Table = CustomerKey.__table__  # type: ignore[attr-defined]
            version, wrapped = (
                select(column).where(keys.c.customer_id == owner).scalar_subquery()
                for column in (keys.c.data_key_version, keys.c.wrapped_key)
            )
            level.key_columns = (owner_index, query.add(version), query.add(wrapped))
        return owner_index

    def _to_one(
        self,
        definition: GraphQLField,
        key: str,
        parts: list[FieldNode],
        where: ToOne,
        table: Any,
        query: SelectList,
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
        plan.object_optional = not is_non_null_type(definition.type)
        return plan

    def _child(
        self,
        definition: GraphQLField,
        key: str,
        parts: list[FieldNode],
        where: ChildList,
        parent_table: Any,
        parent_query: SelectList,
    ) -> LevelPlan:
        target = TYPES.get(where.type_name)
        if target is None or not is_list_type(nullable_of(definition.type)):
            raise NotPlannable(f"child list of {where.type_name}")
        table = target.table
        query = SelectList(table)
        foreign = query.add(table.c[where.foreign])
        level = LevelPlan(None, ObjectPlan(where.type_name), key=key, foreign_index=foreign)
        # the parent's rows are the children's customers: their keys were opened with them
        level.keys_from_parent = parents_are_owners(parent_table, table, where.foreign)
        level.object = self._object(where.type_name, parts, query, level, (key,))
        parents = parents_condition(table.c[where.foreign], self.dialect)
        level.parents_value = parents_value(table.c[where.foreign], self.dialect)
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
        parent_query: SelectList,
    ) -> LevelPlan:
        """Each parent's first rows of a connection, for the whole level in one statement:
        numbered per parent newest first, as the field's DataLoader numbers them."""
        target = TYPES.get(where.type_name)
        if target is None or len(parts) > 1:
            raise NotPlannable(f"connection of {where.type_name}")
        shape, node_nodes = connection_shape(self.schema, self.fragments, definition.type, parts)
        table = target.table
        query = SelectList(table)
        foreign = query.add(table.c[where.foreign])
        at, row_id = (table.c[name] for name in where.order)
        level = LevelPlan(None, ObjectPlan(where.type_name), key=key, foreign_index=foreign)
        level.connection, level.arguments = shape, (definition, parts[0])
        level.keys_from_parent = parents_are_owners(parent_table, table, where.foreign)
        level.cursor_columns = (query.add(at), query.add(row_id))
        level.object = self._object(where.type_name, node_nodes, query, level, (key,))
        level.parents_value = parents_value(table.c[where.foreign], self.dialect)
        rank = func.row_number().over(
            partition_by=table.c[where.foreign], order_by=(at.desc(), row_id.desc())
        )
        labelled = [column.label(f"c{i}") for i, column in enumerate(query.columns)]
        scope = where.scope(self.template) if where.scope is not None else []
        numbered = (
            select(*labelled, rank.label("rank"))
            .select_from(query.source)
            .where(parents_condition(table.c[where.foreign], self.dialect), *scope)
            .subquery()
        )
        statement = (
            select(*(numbered.c[f"c{i}"] for i in range(len(labelled))))
            .where(numbered.c.rank <= bindparam("limit"))
            .order_by(numbered.c[f"c{foreign}"], numbered.c.rank)
        )
        level.statement = prepare(statement, self.dialect, frozenset({"parents", "limit"}))
        level.parent_id_index = parent_query.add(parent_table.c.id)
        self._finish(level, query)
        return level

    def _derived(
        self,
        definition: GraphQLField,
        key: str,
        parts: list[FieldNode],
        where: Derived,
        parent_table: Any,
        parent_query: SelectList,
    ) -> LevelPlan:
        """A list computed for the whole level (``catalogue.Derived``): no statement of its
        own; its fields read the records' values by name, converted as the type converts
        them."""
        target = TYPES.get(where.type_name)
        if target is None or len(parts) > 1 or not is_list_type(nullable_of(definition.type)):
            raise NotPlannable(f"derived list of {where.type_name}")
        query = SelectList(target.table)
        level = LevelPlan(None, ObjectPlan(where.type_name), key=key)
        level.object = self._object(where.type_name, parts, query, level, (key,))
        if level.key_columns is not None:
            raise NotPlannable("a sealed value in a derived list")
        level.derive = where.prepare(self.dialect)
        level.record_columns = tuple(column.name for column in query.columns)
        level.arguments = (definition, parts[0])
        level.parent_id_index = parent_query.add(parent_table.c.id)
        return level

    def _finish(self, level: LevelPlan, query: SelectList) -> None:
        """Fills in each read's result processor now that the statement is compiled."""
        statement = level.statement
        assert statement is not None
        level.foreign_process = statement.processor(level.foreign_index)
        if level.cursor_columns is not None:
            created, row_id = level.cursor_columns
            level.cursor_process = (statement.processor(created), statement.processor(row_id))
        if level.key_columns is not None:
            level.key_process = statement.processor(level.key_columns[0])
        with_processors(level.object, statement)
