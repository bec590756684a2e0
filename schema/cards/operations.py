"""Card servicing mutations (each a thin call into ``resolvers.cards.servicing``)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core.context import Context, Info
from core.identity import Scope
from resolvers.cards import servicing as service
from resolvers.cards.workflow import CardAction
from schema.cards.card import Card
from schema.common import UserError, mutation_payload, payload_field
from schema.described import described_argument
from schema.relay import uuid_of
from schema.scope_field import scoped_field

CARD_ID = "The card (a `Card.id`)."
VERSION = "The `version` you last read; CONFLICT if the card has changed since."
REASON = "Why, for the card's history: at most 4,000 characters; stored encrypted."
WHO = (
    " The card's customer in the app, or admin, supervisor or agent for a customer of their "
    "branch (admin: any)."
)
ERRORS = (
    " userErrors: NOT_FOUND outside your scope; CONFLICT on a stale `version` or a status that "
    "does not allow it (the message names the actions allowed); FORBIDDEN; BAD_USER_INPUT."
)
_writing = partial(scoped_field, Scope.CARDS_WRITE)  # what every card mutation needs


@strawberry.input(description="A workflow action on a card at a known version.")
class CardActionInput:
    card_id: strawberry.ID = strawberry.field(description=CARD_ID)
    version: int = strawberry.field(description=VERSION)
    reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.input(description="A card reported lost or stolen, at a known version.")
class ReportCardLostInput:
    card_id: strawberry.ID = strawberry.field(description=CARD_ID)
    version: int = strawberry.field(description=VERSION)
    stolen: bool = strawberry.field(
        default=False, description="True: stolen (REPORT_STOLEN); false: lost (REPORT_LOST)."
    )
    reason: str | None = strawberry.field(default=None, description=REASON)


@strawberry.type(description="The outcome of a card mutation.")
class CardPayload:
    card: Card | None = payload_field("The card as it is now; null when there are userErrors.")
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, changed: service.CardChanged) -> CardPayload:
        return cls(card=Card.from_row(changed.card))


@strawberry.type(description="The outcome of reporting a card lost or stolen.")
class ReportCardLostPayload:
    card: Card | None = payload_field(
        "The reported card, now BLOCKED; null when there are userErrors."
    )
    replacement: Card | None = payload_field(
        "The new card issued in its place (ISSUED, a new number with the same BIN, product "
        "and limit); null when there are userErrors."
    )
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, changed: service.CardChanged) -> ReportCardLostPayload:
        assert changed.replacement is not None
        return cls(card=Card.from_row(changed.card), replacement=Card.from_row(changed.replacement))


ActionArg = Annotated[CardActionInput, described_argument("The card, its version and a reason.")]


async def _change(
    info: Info,
    payload: Any,
    card_id: strawberry.ID,
    version: int,
    action: CardAction,
    reason: str | None,
) -> Any:
    """Runs one workflow action: expected failures (bad ids included) become userErrors and
    nothing is written."""

    async def write(session: AsyncSession, ctx: Context) -> service.CardChanged:
        return await service.change_card(
            session=session,
            ring=ctx.key_ring,
            principal=ctx.principal,
            change=service.CardChange(
                card_id=uuid_of(card_id, "Card", field="cardId"),
                version=version,
                action=action,
                reason=reason,
            ),
            audit_event=events_by(ctx),
        )

    return await mutation_payload(info, payload, write, payload.of)


async def _act(info: Info, input: CardActionInput, action: CardAction) -> CardPayload:
    payload: CardPayload = await _change(
        info, CardPayload, input.card_id, input.version, action, input.reason
    )
    return payload


@strawberry.type
class CardMutation:
    @_writing("Activates an ISSUED card (→ ACTIVATED)." + WHO + ERRORS)
    async def activate_card(self, info: Info, input: ActionArg) -> CardPayload:
        return await _act(info, input, CardAction.ACTIVATE)

    @_writing(
        "Freezes an ACTIVATED card (→ FROZEN): its transactions are refused until unfrozen."
        + WHO
        + ERRORS
    )
    async def freeze_card(self, info: Info, input: ActionArg) -> CardPayload:
        return await _act(info, input, CardAction.FREEZE)

    @_writing("Unfreezes a FROZEN card (→ ACTIVATED)." + WHO + ERRORS)
    async def unfreeze_card(self, info: Info, input: ActionArg) -> CardPayload:
        return await _act(info, input, CardAction.UNFREEZE)

    @_writing(
        "Reports an ISSUED, ACTIVATED or FROZEN card lost or stolen (→ BLOCKED, for good) and "
        "issues a replacement card with a new number, linked both ways (`replacedBy`, "
        "`replaces`)." + WHO + ERRORS
    )
    async def report_card_lost(
        self, info: Info, input: Annotated[ReportCardLostInput, described_argument("The report.")]
    ) -> ReportCardLostPayload:
        action = CardAction.REPORT_STOLEN if input.stolen else CardAction.REPORT_LOST
        payload: ReportCardLostPayload = await _change(
            info, ReportCardLostPayload, input.card_id, input.version, action, input.reason
        )
        return payload

    @_writing(
        "Closes an ISSUED, ACTIVATED or FROZEN card (→ CLOSED, for good). Admin, supervisor "
        "or agent for a customer of their branch; a customer is refused (FORBIDDEN)." + ERRORS
    )
    async def close_card(self, info: Info, input: ActionArg) -> CardPayload:
        return await _act(info, input, CardAction.CLOSE)
