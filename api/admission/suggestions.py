"""No "Did you mean ...?" outside development (SPEC §4: field suggestions are off in production).

A suggestion names a field, argument, type, enum value or input field close to what the
caller typed, so a prober maps a schema whose introspection is off. graphql-core (3.3) leaves
them out at the source when told ``hide_suggestions``: its validation rules (unknown fields,
arguments, types; literals of the wrong enum value or input field) and its coercion of
variables and arguments at execution. Both are told here, per request, from the settings of
the app serving it (one schema object serves development and production apps alike):

- ``validation_errors`` is the validation of ``api.admission.admit``, which both executors
  call before anything runs;
- ``SuggestionFreeExecutor`` is the standard executor's graphql-core executor, which coerces
  the variables and arguments (queries, mutations and subscriptions alike).

Nothing rewrites a message afterwards. Development keeps the suggestions: they help there.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, validate
from graphql.execution import Executor
from graphql.validation import ASTValidationRule
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

# The rules strawberry adds to every validation (``strawberry.schema.schema.validate_document``).
_STRAWBERRY_RULES: tuple[type[ASTValidationRule], ...] = (
    MaybeNullValidationRule,
    OneOfInputValidationRule,
)


def shows_suggestions(context: object) -> bool:
    """Whether the request's app is a development one; anything else hides suggestions."""
    settings = getattr(context, "settings", None)
    return bool(getattr(settings, "is_development", False))


def validation_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: Collection[type[ASTValidationRule]],
    *,
    hide_suggestions: bool,
) -> list[GraphQLError]:
    """graphql's rules and strawberry's, as strawberry runs them, with or without suggestions."""
    every_rule = (*rules, *_STRAWBERRY_RULES)
    return validate(schema, document, every_rule, hide_suggestions=hide_suggestions)


class SuggestionFreeExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, building with ``hide_suggestions`` unless the request's app is
    a development one: its variable and argument coercion errors then name no neighbour."""

    @classmethod
    def build(  # type: ignore[override]
        cls,
        schema: GraphQLSchema,
        document: DocumentNode,
        root_value: Any = None,
        context_value: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> list[GraphQLError] | Executor[Any]:
        kwargs["hide_suggestions"] = not shows_suggestions(context_value)
        return super().build(schema, document, root_value, context_value, *args, **kwargs)
