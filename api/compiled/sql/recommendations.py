"""``Customer.recommendedOffers`` in an SQL plan: for a whole level of customers at once, the
resolvers' own statements (``resolvers.growth.recommendation``) prepared once per dialect and
run on the driver's connection, ranked by the same function.

The answer is one record per recommendation: the offer's terms as ``OfferSummary`` shows
them (``offer_terms``), its ids and merchant, and the customer's affinity. The catalogue's
``RecommendedOffer`` and ``OfferSummary`` read their fields from these records by name, as
other types read theirs from a row's columns.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect

from api.compiled.sql.building import parents_condition, parents_value
from api.compiled.sql.statement import PreparedSql, prepare
from models.columns import utcnow
from models.customers.customer import Customer
from resolvers.growth.eligibility import profile_query
from resolvers.growth.recommendation import (
    Recommendation,
    assignment_customer,
    held_query,
    live_offers,
    live_offers_query,
    recommendations_for,
)
from schema.growth.offer import offer_terms

Fetch = Callable[[PreparedSql, dict[str, Any]], Awaitable[list[Any]]]
Records = dict[Any, list[dict[str, Any]]]

RECORD_COLUMNS = (
    "offer_id",
    "merchant_name",
    "affinity",
    "assignment_id",
    "title",
    "description",
    "category",
    "benefit_type",
    "benefit_value",
    "starts_at",
    "ends_at",
    "status",
)


def record_of(recommendation: Recommendation) -> dict[str, Any]:
    """One recommendation as the catalogue's record: raw ids and affinity (the catalogue
    converts them as the types do), the terms as ``offer_terms`` gives them."""
    held = recommendation.assignment
    return {
        **offer_terms(recommendation.offer),
        "offer_id": recommendation.offer.id,
        "merchant_name": recommendation.merchant_name,
        "affinity": recommendation.affinity,
        "assignment_id": held.id if held is not None else None,
    }


class PlannedRecommendations:
    """The three statements of a level's recommendations, prepared for one dialect."""

    def __init__(self, dialect: Dialect) -> None:
        customers: Table = Customer.__table__  # type: ignore[attr-defined]
        self._offers = prepare(live_offers_query(), dialect, frozenset({"now"}))
        self._profiles = prepare(
            profile_query().where(parents_condition(customers.c.id, dialect)),
            dialect,
            frozenset({"parents"}),
        )
        self._held = prepare(
            held_query().where(parents_condition(assignment_customer(), dialect)),
            dialect,
            frozenset({"parents"}),
        )
        self._parents = parents_value(customers.c.id, dialect)

    async def __call__(self, fetch: Fetch, parents: Sequence[uuid.UUID], size: int) -> Records:
        """Each parent customer's first ``size`` ranked recommendations, as records."""
        offers = live_offers(await _rows(fetch, self._offers, {"now": utcnow()}))
        if not offers:
            return {}
        bindings = {"parents": self._parents(list(parents))}
        profiles = await _rows(fetch, self._profiles, bindings)
        held = await _rows(fetch, self._held, bindings)
        ranked = recommendations_for(parents, offers, profiles, held)
        return {
            parent: [record_of(each) for each in mine[:size]]
            for parent, mine in zip(parents, ranked, strict=True)
        }


async def _rows(fetch: Fetch, statement: PreparedSql, bindings: dict[str, Any]) -> list[Any]:
    """The statement's rows with every value as the ORM would have given it."""
    processors = statement.processors
    return [
        tuple(
            value if process is None or value is None else process(value)
            for process, value in zip(processors, row, strict=True)
        )
        for row in await fetch(statement, bindings)
    ]
