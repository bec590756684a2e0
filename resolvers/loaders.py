"""Per-request DataLoaders: related objects load in one query per kind, whatever the page size.

Named ``<Thing>By<Key>Loader`` and returning results in key order (STYLE §5). ``Loaders``
builds each lazily, so a request that never touches cards never creates the card loader.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import and_, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from models.card import Card
from models.complaint import ComplaintEvent
from models.customer import Customer, LifecycleHistory
from models.customer_metrics import CustomerMetrics
from models.interaction import Interaction
from models.merchant import Merchant
from models.organisation import Branch, StaffUser
from models.tier import Tier, TierHistory
from resolvers.complaint_loaders import (
    ComplaintCountByCustomerLoader,
    ComplaintPagesByCustomerLoader,
)
from resolvers.interaction import InteractionFilter, interaction_conditions
from resolvers.merchant_offers import OfferActivityByOfferIdLoader
from resolvers.offer_assignment import (
    AssignmentCountByCustomerLoader,
    AssignmentPagesByCustomerLoader,
)
from resolvers.offer_recommendation import RecommendedOffersByCustomerLoader
from resolvers.pagination import Page, decode_cursor, encode_cursor
from resolvers.tier_catalogue import TierCatalogue

if TYPE_CHECKING:
    from api.context import RequestDatabase
    from auth.principal import Principal


class CardsByCustomerIdLoader(DataLoader[uuid.UUID, list[Card]]):
    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[list[Card]]:
        column: Any = Card.customer_id
        cards = await self._db.scalars(
            select(Card).where(column.in_(keys)).order_by(col(Card.created_at), col(Card.id))
        )
        grouped: dict[uuid.UUID, list[Card]] = defaultdict(list)
        for card in cards:
            grouped[card.customer_id].append(card)
        return [grouped.get(key, []) for key in keys]


class TierByIdLoader(DataLoader[uuid.UUID, Tier | None]):
    """Tiers come from the process's ``TierCatalogue``: no statement while it is fresh."""

    def __init__(self, db: RequestDatabase, catalogue: TierCatalogue) -> None:
        super().__init__(load_fn=self._load)
        self._db = db
        self._catalogue = catalogue

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[Tier | None]:
        by_id = await self._catalogue.by_id(self._db)
        return [by_id.get(key) for key in keys]


class BranchByIdLoader(DataLoader[uuid.UUID, Branch | None]):
    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[Branch | None]:
        column: Any = Branch.id
        rows = await self._db.scalars(select(Branch).where(column.in_(keys)))
        by_id = {branch.id: branch for branch in rows}
        return [by_id.get(key) for key in keys]


class CustomerByIdLoader(DataLoader[uuid.UUID, Customer | None]):
    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[Customer | None]:
        rows = await self._db.scalars(select(Customer).where(col(Customer.id).in_(keys)))
        by_id = {row.id: row for row in rows}
        return [by_id.get(key) for key in keys]


class StaffUserByIdLoader(DataLoader[uuid.UUID, StaffUser | None]):
    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[StaffUser | None]:
        rows = await self._db.scalars(select(StaffUser).where(col(StaffUser.id).in_(keys)))
        by_id = {row.id: row for row in rows}
        return [by_id.get(key) for key in keys]


class MerchantByIdLoader(DataLoader[uuid.UUID, Merchant | None]):
    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[Merchant | None]:
        rows = await self._db.scalars(select(Merchant).where(col(Merchant.id).in_(keys)))
        by_id = {row.id: row for row in rows}
        return [by_id.get(key) for key in keys]


class TimelineByComplaintIdLoader(DataLoader[uuid.UUID, list[ComplaintEvent]]):
    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[list[ComplaintEvent]]:
        rows = await self._db.scalars(
            select(ComplaintEvent)
            .where(col(ComplaintEvent.complaint_id).in_(keys))
            .order_by(col(ComplaintEvent.created_at), col(ComplaintEvent.id))
        )
        grouped: dict[uuid.UUID, list[ComplaintEvent]] = defaultdict(list)
        for row in rows:
            grouped[row.complaint_id].append(row)
        return [grouped.get(key, []) for key in keys]


@dataclass(frozen=True)
class ComplaintLoaders:
    pages: ComplaintPagesByCustomerLoader
    counts: ComplaintCountByCustomerLoader


@dataclass(frozen=True)
class InteractionPageKey:
    """One customer's page of interactions; keys with equal (first, after, filter) batch."""

    customer_id: uuid.UUID
    first: int
    after: str | None
    filter: InteractionFilter


class InteractionPagesByCustomerLoader(DataLoader[InteractionPageKey, Page[Interaction]]):
    """Pages of interactions for many customers in one query per distinct page shape, with
    ``row_number() over (partition by customer)`` taking the first N + 1 of each."""

    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[InteractionPageKey]) -> list[Page[Interaction]]:
        shapes: dict[tuple[int, str | None, InteractionFilter], list[InteractionPageKey]] = (
            defaultdict(list)
        )
        for key in keys:
            shapes[(key.first, key.after, key.filter)].append(key)
        pages: dict[InteractionPageKey, Page[Interaction]] = {}
        for (first, after, filter), group in shapes.items():
            pages.update(await self._pages(first, after, filter, group))
        return [pages[key] for key in keys]

    async def _pages(
        self,
        first: int,
        after: str | None,
        filter: InteractionFilter,
        group: list[InteractionPageKey],
    ) -> dict[InteractionPageKey, Page[Interaction]]:
        conditions = [
            col(Interaction.customer_id).in_([key.customer_id for key in group]),
            *interaction_conditions(filter),
        ]
        if after is not None:
            created, row_id = decode_cursor(after, "after")
            conditions.append(
                or_(
                    col(Interaction.occurred_at) < created,
                    and_(col(Interaction.occurred_at) == created, col(Interaction.id) < row_id),
                )
            )
        rank = func.row_number().over(
            partition_by=col(Interaction.customer_id),
            order_by=(col(Interaction.occurred_at).desc(), col(Interaction.id).desc()),
        )
        ranked = select(Interaction, rank.label("rank")).where(*conditions).subquery()
        numbered = aliased(Interaction, ranked)
        rows = await self._db.scalars(
            select(numbered)
            .where(ranked.c.rank <= first + 1)
            .order_by(ranked.c.customer_id, ranked.c.rank)
        )
        grouped: dict[uuid.UUID, list[Interaction]] = defaultdict(list)
        for row in rows:
            grouped[row.customer_id].append(row)
        return {key: _page(grouped.get(key.customer_id, []), first, after) for key in group}


def _page(rows: list[Interaction], first: int, after: str | None) -> Page[Interaction]:
    edges = [(encode_cursor(row.occurred_at, row.id), row) for row in rows[:first]]
    return Page(edges, has_next_page=len(rows) > first, has_previous_page=after is not None)


class InteractionCountByCustomerLoader(DataLoader[tuple[uuid.UUID, InteractionFilter], int]):
    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[tuple[uuid.UUID, InteractionFilter]]) -> list[int]:
        counts: dict[tuple[uuid.UUID, InteractionFilter], int] = {}
        for filter in {f for _, f in keys}:
            ids = [customer_id for customer_id, f in keys if f == filter]
            result = await self._db.execute(
                select(col(Interaction.customer_id), func.count().label("n"))
                .where(col(Interaction.customer_id).in_(ids), *interaction_conditions(filter))
                .group_by(col(Interaction.customer_id))
            )
            found: dict[uuid.UUID, int] = {row.customer_id: int(row.n) for row in result.all()}
            counts.update({(customer_id, filter): found.get(customer_id, 0) for customer_id in ids})
        return [counts[key] for key in keys]


class MetricsByCustomerIdLoader(DataLoader[uuid.UUID, CustomerMetrics | None]):
    """The last evaluation's figures (None: never evaluated)."""

    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[uuid.UUID]) -> list[CustomerMetrics | None]:
        column = col(CustomerMetrics.customer_id)
        rows = await self._db.scalars(select(CustomerMetrics).where(column.in_(keys)))
        by_id = {row.customer_id: row for row in rows}
        return [by_id.get(key) for key in keys]


TIER_LADDER = "all"


class TierLadderLoader(DataLoader[str, list[Tier]]):
    """Every tier, lowest rank first, under the one key ``TIER_LADDER``."""

    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[str]) -> list[list[Tier]]:
        tiers = await self._db.scalars(select(Tier).order_by(col(Tier.rank)))
        return [tiers for _ in keys]


History = TypeVar("History", LifecycleHistory, TierHistory)


async def _newest_per_customer(
    db: RequestDatabase, model: type[History], keys: Sequence[tuple[uuid.UUID, int]]
) -> list[list[History]]:
    """The newest ``limit`` history rows of each (customer, limit): one query per limit."""
    found: dict[tuple[uuid.UUID, int], list[History]] = {}
    for limit in {limit for _, limit in keys}:
        ids = [customer_id for customer_id, n in keys if n == limit]
        rank = func.row_number().over(
            partition_by=col(model.customer_id),
            order_by=(col(model.created_at).desc(), col(model.id).desc()),
        )
        ranked = select(model, rank.label("rank")).where(col(model.customer_id).in_(ids)).subquery()
        rows = await db.scalars(
            select(aliased(model, ranked))
            .where(ranked.c.rank <= limit)
            .order_by(ranked.c.customer_id, ranked.c.rank)
        )
        grouped: dict[uuid.UUID, list[History]] = defaultdict(list)
        for row in rows:
            grouped[row.customer_id].append(row)
        found.update({(customer_id, limit): grouped[customer_id] for customer_id in ids})
    return [found[key] for key in keys]


class LifecycleHistoryByCustomerLoader(DataLoader[tuple[uuid.UUID, int], list[LifecycleHistory]]):
    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[tuple[uuid.UUID, int]]) -> list[list[LifecycleHistory]]:
        return await _newest_per_customer(self._db, LifecycleHistory, keys)


class TierHistoryByCustomerLoader(DataLoader[tuple[uuid.UUID, int], list[TierHistory]]):
    def __init__(self, db: RequestDatabase) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, keys: Sequence[tuple[uuid.UUID, int]]) -> list[list[TierHistory]]:
        return await _newest_per_customer(self._db, TierHistory, keys)


class Loaders:
    def __init__(self, db: RequestDatabase, tiers: TierCatalogue) -> None:
        self._db = db
        self._tiers = tiers
        self._complaints: dict[str, ComplaintLoaders] = {}

    def complaints_of(self, principal: Principal) -> ComplaintLoaders:
        """Customers' complaints as this caller may list them (their scope is in the SQL)."""
        key = f"{principal.audit_actor}|{principal.token_id}"
        if key not in self._complaints:
            self._complaints[key] = ComplaintLoaders(
                ComplaintPagesByCustomerLoader(self._db, principal),
                ComplaintCountByCustomerLoader(self._db, principal),
            )
        return self._complaints[key]

    @cached_property
    def cards_by_customer_id(self) -> CardsByCustomerIdLoader:
        return CardsByCustomerIdLoader(self._db)

    @cached_property
    def tier_by_id(self) -> TierByIdLoader:
        return TierByIdLoader(self._db, self._tiers)

    @cached_property
    def branch_by_id(self) -> BranchByIdLoader:
        return BranchByIdLoader(self._db)

    @cached_property
    def customer_by_id(self) -> CustomerByIdLoader:
        return CustomerByIdLoader(self._db)

    @cached_property
    def staff_user_by_id(self) -> StaffUserByIdLoader:
        return StaffUserByIdLoader(self._db)

    @cached_property
    def timeline_by_complaint_id(self) -> TimelineByComplaintIdLoader:
        return TimelineByComplaintIdLoader(self._db)

    @cached_property
    def interaction_pages_by_customer(self) -> InteractionPagesByCustomerLoader:
        return InteractionPagesByCustomerLoader(self._db)

    @cached_property
    def interaction_count_by_customer(self) -> InteractionCountByCustomerLoader:
        return InteractionCountByCustomerLoader(self._db)

    @cached_property
    def merchant_by_id(self) -> MerchantByIdLoader:
        return MerchantByIdLoader(self._db)

    @cached_property
    def assignment_pages_by_customer(self) -> AssignmentPagesByCustomerLoader:
        return AssignmentPagesByCustomerLoader(self._db)

    @cached_property
    def assignment_count_by_customer(self) -> AssignmentCountByCustomerLoader:
        return AssignmentCountByCustomerLoader(self._db)

    @cached_property
    def recommended_offers_by_customer(self) -> RecommendedOffersByCustomerLoader:
        return RecommendedOffersByCustomerLoader(self._db)

    @cached_property
    def offer_activity_by_offer_id(self) -> OfferActivityByOfferIdLoader:
        return OfferActivityByOfferIdLoader(self._db)

    @cached_property
    def metrics_by_customer_id(self) -> MetricsByCustomerIdLoader:
        return MetricsByCustomerIdLoader(self._db)

    @cached_property
    def tier_ladder(self) -> TierLadderLoader:
        return TierLadderLoader(self._db)

    @cached_property
    def lifecycle_history_by_customer(self) -> LifecycleHistoryByCustomerLoader:
        return LifecycleHistoryByCustomerLoader(self._db)

    @cached_property
    def tier_history_by_customer(self) -> TierHistoryByCustomerLoader:
        return TierHistoryByCustomerLoader(self._db)
