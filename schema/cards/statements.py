"""What statements add to the Card type: its bills, balance, credit left and overdue standing.

``schema.cards.card.Card`` inherits ``CardStatementFields``; a field here reads the card's
``_row`` and the page's loaders (resolvers/cards/statement_loaders.py), so a page of
customers → cards → statements costs a fixed number of queries. The figures are policy rows
(auth/policy.py, scope `cards:read`), the statements a relation field declared with
`cards:read`. A figure's resolver is synchronous and returns the loader's awaitable, typed
as the value (as ``models.sealing.read_field`` does): the policy extension is synchronous.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, cast

import strawberry

from core.context import Info
from core.identity import Scope
from core.money import yuan
from models.cards.card import Card as CardRow
from models.cards.statement import OverdueBucket
from models.cards.statement import Statement as StatementRow
from resolvers.cards.statement_loaders import (
    CardAccount,
    CardAccountByCardLoader,
    StatementCountByCardLoader,
    StatementPageKey,
    StatementPagesByCardLoader,
)
from resolvers.pagination import PageArgs
from schema.policy_field import sensitive_field
from schema.relay import After, Connection, First
from schema.scope_field import scoped_field


def _money(description: str) -> Any:
    return strawberry.field(description=f"{description} In yuan.")


@strawberry.type(description="A card's bill for one cycle, closed on its statement date.")
class Statement:
    cycle_start: date = strawberry.field(description="The cycle's first day (the bank's days).")
    cycle_end: date = strawberry.field(description="The statement date: the cycle's last day.")
    previous_balance: Decimal = _money("The previous statement's balance.")
    purchases: Decimal = _money("Purchases booked in the cycle.")
    refunds: Decimal = _money("Refunds booked in the cycle.")
    repayments: Decimal = _money("Repayments booked in the cycle.")
    statement_balance: Decimal = _money(
        "Previous balance + purchases − refunds − repayments; negative: a credit."
    )
    minimum_payment: Decimal = _money(
        "What must be repaid by the due date: a share of the balance plus fees, never above it."
    )
    due_date: date = strawberry.field(description="The last day to repay the minimum payment.")
    paid_by_due_date: bool | None = strawberry.field(
        description="Whether the minimum was repaid by the due date; null until it has passed."
    )

    @classmethod
    def from_row(cls, row: StatementRow) -> Statement:
        return cls(
            cycle_start=row.cycle_start,
            cycle_end=row.cycle_end,
            previous_balance=yuan(row.previous_balance_cents),
            purchases=yuan(row.purchases_cents),
            refunds=yuan(row.refunds_cents),
            repayments=yuan(row.repayments_cents),
            statement_balance=yuan(row.balance_cents),
            minimum_payment=yuan(row.minimum_payment_cents),
            due_date=row.due_date,
            paid_by_due_date=row.paid_by_due,
        )


async def _account(info: Info, card: CardRow) -> CardAccount:
    return await info.context.loader(CardAccountByCardLoader).load(card.id)


async def _balance(info: Info, card: CardRow) -> Decimal:
    return yuan((await _account(info, card)).balance_cents)


async def _available(info: Info, card: CardRow) -> Decimal:
    balance = (await _account(info, card)).balance_cents
    return yuan(max(0, card.credit_limit_cents - balance))


async def _minimum(info: Info, card: CardRow) -> Decimal | None:
    statement = (await _account(info, card)).statement
    return yuan(statement.minimum_payment_cents) if statement else None


async def _due(info: Info, card: CardRow) -> date | None:
    statement = (await _account(info, card)).statement
    return statement.due_date if statement else None


@strawberry.type
class CardStatementFields:
    """Card's statement fields, listed right after its ``id``."""

    _row: strawberry.Private[CardRow]

    @sensitive_field("Card", "balance")
    def balance(self, info: Info) -> Decimal | None:
        """The last statement's balance plus purchases, minus refunds and repayments since."""
        return cast("Decimal | None", _balance(info, self._row))

    @sensitive_field("Card", "availableCredit")
    def available_credit(self, info: Info) -> Decimal | None:
        return cast("Decimal | None", _available(info, self._row))

    @sensitive_field("Card", "minimumPayment")
    def minimum_payment(self, info: Info) -> Decimal | None:
        return cast("Decimal | None", _minimum(info, self._row))

    @sensitive_field("Card", "dueDate")
    def due_date(self, info: Info) -> date | None:
        return cast("date | None", _due(info, self._row))

    @sensitive_field("Card", "daysPastDue")
    def days_past_due(self) -> int | None:
        return self._row.days_past_due

    @sensitive_field("Card", "overdueBucket")
    def overdue_bucket(self) -> OverdueBucket | None:
        return OverdueBucket(self._row.overdue_bucket)

    @scoped_field(
        Scope.CARDS_READ,
        "The day of the month (1 to 28) the card's statement closes (账单日).",
    )
    def statement_day(self) -> int | None:
        return self._row.statement_day

    @scoped_field(
        Scope.CARDS_READ,
        "Days from a statement's close to its due date (the grace period).",
    )
    def due_days(self) -> int | None:
        return self._row.due_days

    @scoped_field(Scope.CARDS_READ, "This card's statements, newest first.")
    async def statements(
        self, info: Info, first: First = None, after: After = None
    ) -> Connection[Statement] | None:
        ctx = info.context
        args = PageArgs(first=first, after=after).validated(
            ctx.settings.default_page_size, ctx.settings.max_page_size
        )
        page = await ctx.loader(StatementPagesByCardLoader).load(
            StatementPageKey(self._row.id, args.first or 0, after)
        )

        async def count() -> int:
            return await ctx.loader(StatementCountByCardLoader).load(self._row.id)

        return Connection.build(page, Statement.from_row, count)
