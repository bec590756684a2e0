"""The executable schema: the types and root fields of ``schema``, with the roof's extensions.

``schema`` composes what the API answers and knows nothing of how a request reaches it; the
extensions are the roof's: error codes and request ids (``api.error_handling``), the request
log (``api.observability``), admission (``api.admission.admit``), the audit of refused
lookups (``api.admission.lookup_limit``) and an executor without suggestions outside
development (``api.admission.suggestions``). Extensions run in the order listed.
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError

from api.admission.admit import QueryLimits
from api.admission.lookup_limit import LookupLimit
from api.admission.suggestions import SuggestionFreeExecutor
from api.error_handling import ErrorCodesExtension
from api.observability import OperationObserver
from schema import TYPES, Mutation, Query
from schema.common import DESCRIBED_SCALARS
from schema.subscriptions import Subscription


class CardcrmSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Silenced: ``ErrorCodesExtension`` logs the unexpected ones, without stack or PII."""


schema = CardcrmSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=TYPES,
    extensions=[ErrorCodesExtension, OperationObserver, QueryLimits, LookupLimit],
    execution_context_class=SuggestionFreeExecutor,
    scalar_overrides=DESCRIBED_SCALARS,
)
