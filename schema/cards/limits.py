"""Credit limits on the card: its requests (maker–checker) and its limit history.

Amounts follow the policy row of ``Card.creditLimit``; the free text (a request's reason, the
decision's reason, a risk decrease's note) is C2, sealed, with rows of its own.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from core.context import Info
from core.errors import BadUserInput
from core.identity import Scope
from core.money import yuan
from models.cards.card import Card as CardRow
from models.cards.limits import CreditLimitChange as ChangeRow
from models.cards.limits import CreditLimitRequest as RequestRow
from models.cards.limits import LimitChangeKind, LimitRequestStatus, RiskReason
from resolvers.cards.limit_loaders import (
    LimitChangesByCardIdLoader,
    PendingLimitRequestByCardIdLoader,
)
from resolvers.cards.limit_workflow import LIMIT_REQUEST_WORKFLOW, LimitRequestAction
from resolvers.cards.loaders import CardByIdLoader
from schema.cards.limit_enums import describe_limit_enums
from schema.policy_field import sealed_field, sensitive_field
from schema.relay import to_global_id
from schema.scope_field import scoped_field

if TYPE_CHECKING:
    # What mypy sees; at run time strawberry resolves the lazy reference below.
    Card = Any

# The Card type is built on ``CardLimitFields`` in ``schema.cards.card``, which hands it back
# with ``register_card_type``: this module names it lazily and never imports that module.
CardRef = Annotated["Card", strawberry.lazy("schema.cards.card")]
_card_type: list[Any] = []


def register_card_type(card: Any) -> None:
    _card_type[:] = [card]


describe_limit_enums()
HISTORY_SIZE = 20
HISTORY_MAX = 100


@strawberry.type(description="A request to change a card's credit limit, decided maker–checker.")
class CreditLimitRequest:
    id: strawberry.ID = strawberry.field(description="The request's global ID.")
    status: LimitRequestStatus = strawberry.field(description="Where it stands.")
    temporary_until: date | None = strawberry.field(
        description="The last day a temporary limit holds (it reverts after, by `cardcrm "
        "limits revert`); null: a permanent change."
    )
    requester_kind: str = strawberry.field(
        description="Who asked: `customer` (in the app) or `staff`."
    )
    decided_at: datetime | None = strawberry.field(
        description="When it was approved or rejected (ISO 8601, UTC); null before."
    )
    created_at: datetime = strawberry.field(description="When it was made (ISO 8601, UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (ISO 8601, UTC).")
    version: int = strawberry.field(
        description="Starts at 1, +1 on every change; deciding or cancelling takes it back "
        "(CONFLICT if it is no longer current)."
    )
    _row: strawberry.Private[RequestRow]

    @sensitive_field("Card", "creditLimit")
    def current_limit(self) -> Decimal | None:
        return yuan(self._row.current_limit_cents)

    @sensitive_field("Card", "creditLimit")
    def requested_limit(self) -> Decimal | None:
        return yuan(self._row.requested_limit_cents)

    reason = sealed_field("CreditLimitRequest", "reason", "reason")
    decision_reason = sealed_field("CreditLimitRequest", "decisionReason", "decision_reason")

    @strawberry.field(description="The actions allowed in the current status.")
    def allowed_actions(self) -> list[LimitRequestAction]:
        return LIMIT_REQUEST_WORKFLOW.allowed_actions(LimitRequestStatus(self._row.status))

    @strawberry.field(description="The card whose limit it would change.")
    async def card(self, info: Info) -> CardRef | None:
        row = await info.context.loader(CardByIdLoader).load(self._row.card_id)
        return _card_type[0].from_row(row) if row else None

    @classmethod
    def from_row(cls, row: RequestRow) -> CreditLimitRequest:
        return cls(
            id=strawberry.ID(to_global_id("CreditLimitRequest", row.id)),
            status=LimitRequestStatus(row.status),
            temporary_until=row.temporary_until,
            requester_kind=row.requester_kind,
            decided_at=row.decided_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
            _row=row,
        )


@strawberry.type(description="One change of a card's credit limit; entries are never edited.")
class CreditLimitChange:
    kind: LimitChangeKind = strawberry.field(description="What changed it.")
    temporary_until: date | None = strawberry.field(
        description="For a temporary limit: its last day; null otherwise."
    )
    reasons: list[RiskReason] = strawberry.field(
        description="A risk decrease's reasons; empty for the other kinds."
    )
    actor_kind: str = strawberry.field(
        description="Who made it: `staff`, `customer`, or `system` (a temporary limit's end)."
    )
    created_at: datetime = strawberry.field(description="When (ISO 8601, UTC).")
    _row: strawberry.Private[ChangeRow]

    @sensitive_field("Card", "creditLimit")
    def old_limit(self) -> Decimal | None:
        return yuan(self._row.old_limit_cents)

    @sensitive_field("Card", "creditLimit")
    def new_limit(self) -> Decimal | None:
        return yuan(self._row.new_limit_cents)

    note = sealed_field("CreditLimitChange", "note", "note")

    @strawberry.field(description="The request it applied or ended; null for a risk decrease.")
    def request_id(self) -> strawberry.ID | None:
        if self._row.request_id is None:
            return None
        return strawberry.ID(to_global_id("CreditLimitRequest", self._row.request_id))

    @classmethod
    def from_row(cls, row: ChangeRow) -> CreditLimitChange:
        return cls(
            kind=LimitChangeKind(row.kind),
            temporary_until=row.temporary_until,
            reasons=[RiskReason(reason) for reason in row.reasons],
            actor_kind=row.actor_kind,
            created_at=row.created_at,
            _row=row,
        )


@strawberry.type
class CardLimitFields:
    """What credit limits add to the Card type."""

    _row: strawberry.Private[CardRow]

    @scoped_field(
        Scope.CARDS_READ,
        f"The card's limit changes, newest first (`first`: 1 to {HISTORY_MAX}, default "
        f"{HISTORY_SIZE}).",
    )
    async def credit_limit_history(
        self,
        info: Info,
        first: Annotated[
            int, strawberry.argument(description=f"How many, 1 to {HISTORY_MAX}.")
        ] = HISTORY_SIZE,
    ) -> list[CreditLimitChange] | None:
        if not 1 <= first <= HISTORY_MAX:
            raise BadUserInput(f"`first` must be between 1 and {HISTORY_MAX}", field="first")
        rows = await info.context.loader(LimitChangesByCardIdLoader).load((self._row.id, first))
        return [CreditLimitChange.from_row(row) for row in rows]

    @scoped_field(Scope.CARDS_READ, "The card's PENDING credit-limit request; null if none.")
    async def pending_limit_request(self, info: Info) -> CreditLimitRequest | None:
        row = await info.context.loader(PendingLimitRequestByCardIdLoader).load(self._row.id)
        return CreditLimitRequest.from_row(row) if row else None
