"""Credit-limit requests and decisions: the list, and the maker–checker mutations (each a thin
call into ``resolvers.cards.limits`` or ``resolvers.cards.limit_changes``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core.context import Context, Info
from core.identity import Scope
from core.money import cents_of
from models.cards.card import Card as CardRow
from models.cards.limits import CreditLimitRequest as RequestRow
from models.cards.limits import LimitRequestStatus, RiskReason
from resolvers.cards import limit_changes, limits
from resolvers.cards import limit_queries as queries
from resolvers.cards.limit_workflow import LimitRequestAction
from resolvers.pagination import PageArgs
from schema.cards.card import Card
from schema.cards.limit_enums import LimitDecision
from schema.cards.limits import CreditLimitRequest
from schema.common import UserError, mutation_payload, payload_field
from schema.described import described_argument, optional_field
from schema.relay import After, Connection, First, uuid_of
from schema.scope_field import scoped_field

SCOPE = (
    "Your scope: every branch for risk officers, admins and auditors; a supervisor's or "
    "agent's branch; a customer's own cards."
)
VERSION = "The request's `version` you last read; CONFLICT if it has changed since."
ERRORS = " userErrors: NOT_FOUND outside your scope, CONFLICT, FORBIDDEN, BAD_USER_INPUT."


@strawberry.input(description="Narrows the list of credit-limit requests.")
class CreditLimitRequestFilter:
    status: LimitRequestStatus | None = optional_field("Only requests in this status.")
    branch_id: strawberry.ID | None = optional_field("Only those of this branch (a Branch ID).")
    card_id: strawberry.ID | None = optional_field("Only those of this card (a Card ID).")

    def to_filter(self) -> queries.LimitRequestFilter:
        return queries.LimitRequestFilter(
            status=self.status,
            branch_id=uuid_of(self.branch_id, "Branch", field="filter.branchId")
            if self.branch_id
            else None,
            card_id=uuid_of(self.card_id, "Card", field="filter.cardId") if self.card_id else None,
        )


@strawberry.input(description="A new credit limit asked for a card.")
class RequestCreditLimitChangeInput:
    card_id: strawberry.ID = strawberry.field(description="The card (a `Card.id`).")
    new_limit: Decimal = strawberry.field(
        description="The limit asked for, in yuan (at most two decimals); not the current one."
    )
    reason: str = strawberry.field(
        description="Why; required, at most 4,000 characters; stored encrypted."
    )
    temporary_until: date | None = optional_field(
        "For a temporary increase: its last day, tomorrow at the earliest and at most "
        "CARDCRM_CREDIT_LIMIT_TEMPORARY_MAX_DAYS (default 90) days ahead; null: permanent."
    )


@strawberry.input(description="A risk officer's decision on a pending request.")
class DecideCreditLimitChangeInput:
    request_id: strawberry.ID = strawberry.field(description="The request's `id`.")
    decision: LimitDecision = strawberry.field(description="Approve or reject.")
    reason: str = strawberry.field(
        description="Why; required, at most 4,000 characters; stored encrypted."
    )
    version: int = strawberry.field(description=VERSION)


@strawberry.input(description="The requester withdraws a pending request.")
class CancelCreditLimitRequestInput:
    request_id: strawberry.ID = strawberry.field(description="The request's `id`.")
    version: int = strawberry.field(description=VERSION)


@strawberry.input(description="A risk-driven decrease of a card's limit (降低信用额度).")
class DecreaseCreditLimitInput:
    card_id: strawberry.ID = strawberry.field(description="The card (a `Card.id`).")
    new_limit: Decimal = strawberry.field(
        description="The new limit in yuan; below the current one (a decrease never raises)."
    )
    reasons: list[RiskReason] = strawberry.field(description="Why; at least one.")
    note: str | None = optional_field(
        "A note for the history, at most 4,000 characters; encrypted."
    )


@strawberry.type(description="The outcome of a credit-limit request mutation.")
class CreditLimitRequestPayload:
    request: CreditLimitRequest | None = payload_field(
        "The request as it is now; null when there are userErrors."
    )
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, row: RequestRow) -> CreditLimitRequestPayload:
        return cls(request=CreditLimitRequest.from_row(row))


@strawberry.type(description="The outcome of a risk-driven limit decrease.")
class DecreaseCreditLimitPayload:
    card: Card | None = payload_field("The card with its new limit; null on userErrors.")
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, row: CardRow) -> DecreaseCreditLimitPayload:
        return cls(card=Card.from_row(row))


async def _decide(info: Info, make: Any) -> CreditLimitRequestPayload:
    async def write(session: AsyncSession, ctx: Context) -> RequestRow:
        return await limits.decide_limit_change(
            session=session,
            ring=ctx.key_ring,
            principal=ctx.principal,
            decision=make(),
            audit_event=events_by(ctx),
        )

    return await mutation_payload(
        info, CreditLimitRequestPayload, write, CreditLimitRequestPayload.of
    )


@strawberry.type
class LimitQuery:
    @scoped_field(Scope.CARDS_READ, f"Credit-limit requests in your scope, newest first. {SCOPE}")
    async def credit_limit_requests(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            CreditLimitRequestFilter | None, described_argument("Only the matching ones.")
        ] = None,
    ) -> Connection[CreditLimitRequest] | None:
        page, count = await queries.list_requests(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            filter=filter.to_filter() if filter else queries.LimitRequestFilter(),
            page=PageArgs(first, after),
        )
        return Connection.build(page, CreditLimitRequest.from_row, count)


@strawberry.type
class LimitMutation:
    @scoped_field(
        Scope.CARDS_WRITE,
        "Asks for a new credit limit, permanent or temporary (PENDING until a risk officer "
        "decides): the cardholder for their own card, or an agent, supervisor or admin for a "
        "card in their scope; one pending request per card (CONFLICT); audited." + ERRORS,
    )
    async def request_credit_limit_change(
        self,
        info: Info,
        input: Annotated[RequestCreditLimitChangeInput, described_argument("The request.")],
    ) -> CreditLimitRequestPayload:
        async def write(session: AsyncSession, ctx: Context) -> RequestRow:
            data = limits.NewLimitRequest(
                card_id=uuid_of(input.card_id, "Card", field="cardId"),
                new_limit_cents=cents_of("newLimit", input.new_limit),
                reason=input.reason,
                temporary_until=input.temporary_until,
            )
            return await limits.request_limit_change(
                session=session,
                ring=ctx.key_ring,
                settings=ctx.settings,
                principal=ctx.principal,
                data=data,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(
            info, CreditLimitRequestPayload, write, CreditLimitRequestPayload.of
        )

    @scoped_field(
        Scope.RISK_WRITE,
        "Approves (the card takes the new limit, with a history entry, in the same "
        "transaction) or rejects a PENDING request, with a reason; audited. Maker–checker: "
        "never by its requester, whatever their role (FORBIDDEN, audited)." + ERRORS,
        staff_only=True,
    )
    async def decide_credit_limit_change(
        self,
        info: Info,
        input: Annotated[DecideCreditLimitChangeInput, described_argument("The decision.")],
    ) -> CreditLimitRequestPayload:
        action = (
            LimitRequestAction.APPROVE
            if input.decision is LimitDecision.APPROVE
            else LimitRequestAction.REJECT
        )
        return await _decide(
            info,
            lambda: limits.LimitDecision(
                request_id=uuid_of(input.request_id, "CreditLimitRequest", field="requestId"),
                action=action,
                version=input.version,
                reason=input.reason,
            ),
        )

    @scoped_field(
        Scope.CARDS_WRITE,
        "Withdraws a PENDING request (→ CANCELLED): its requester only; audited." + ERRORS,
    )
    async def cancel_credit_limit_request(
        self,
        info: Info,
        input: Annotated[CancelCreditLimitRequestInput, described_argument("The request.")],
    ) -> CreditLimitRequestPayload:
        return await _decide(
            info,
            lambda: limits.LimitDecision(
                request_id=uuid_of(input.request_id, "CreditLimitRequest", field="requestId"),
                action=LimitRequestAction.CANCEL,
                version=input.version,
            ),
        )

    @scoped_field(
        Scope.RISK_WRITE,
        "Lowers a card's limit for risk reasons (降低信用额度), with a history entry; never "
        "raises it; audited." + ERRORS,
        staff_only=True,
    )
    async def decrease_credit_limit(
        self,
        info: Info,
        input: Annotated[DecreaseCreditLimitInput, described_argument("The decrease.")],
    ) -> DecreaseCreditLimitPayload:
        async def write(session: AsyncSession, ctx: Context) -> CardRow:
            data = limit_changes.Decrease(
                card_id=uuid_of(input.card_id, "Card", field="cardId"),
                new_limit_cents=cents_of("newLimit", input.new_limit),
                reasons=tuple(input.reasons),
                note=input.note,
            )
            return await limit_changes.decrease_limit(
                session=session,
                ring=ctx.key_ring,
                principal=ctx.principal,
                data=data,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(
            info, DecreaseCreditLimitPayload, write, DecreaseCreditLimitPayload.of
        )
