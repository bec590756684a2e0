"""What transactions add to the Card type: ``Card.transactions``, and the connection both
transaction lists build.

``schema.cards.card.Card`` declares ``transactions = card_transactions``; the field gets the
Card as ``root`` and reads only its ``_row``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

import strawberry

from core.context import Info
from core.identity import Scope
from models.cards.card import Card as CardRow
from resolvers.pagination import PageArgs
from resolvers.transactions.loaders import (
    TransactionCountByCardLoader,
    TransactionCounts,
    TransactionPageKey,
    TransactionPages,
    TransactionPagesByCardLoader,
)
from resolvers.transactions.reading import TransactionView
from schema.relay import After, Connection, First
from schema.scope_field import scoped_field
from schema.transactions.types import Transaction, TransactionFilter, wanted

FilterArgument = Annotated[
    TransactionFilter | None,
    strawberry.argument(description="Narrows the list (time, amount, category)."),
]


async def transaction_connection(
    info: Info,
    owner_id: uuid.UUID,
    first: int | None,
    after: str | None,
    filter: TransactionFilter | None,
    loaders: tuple[type[TransactionPages], type[TransactionCounts]],
    to_node: Callable[[TransactionView], Transaction],
) -> Connection[Transaction]:
    """One owner's page through its page loader (``loaders``: pages, counts), batched over
    every owner on the page of its parent."""
    ctx = info.context
    args = PageArgs(first=first, after=after).validated(
        ctx.settings.default_page_size, ctx.settings.max_page_size
    )
    checked = wanted(filter)
    pages, counts = loaders
    page = await ctx.loader(pages).load(
        TransactionPageKey(owner_id, args.first or 0, after, checked)
    )

    async def count() -> int:
        return await ctx.loader(counts).load((owner_id, checked))

    return Connection.build(page, to_node, count)


@scoped_field(Scope.CARDS_READ, "This card's transactions, newest first.")
async def card_transactions(
    root: Any,
    info: Info,
    first: First = None,
    after: After = None,
    filter: FilterArgument = None,
) -> Connection[Transaction] | None:
    """``Card.transactions`` (``schema.cards.card`` declares ``transactions = card_transactions``);
    ``root`` is the Card, whose ``_row`` is the card's row."""
    card: CardRow = root._row
    return await transaction_connection(
        info,
        card.id,
        first,
        after,
        filter,
        (TransactionPagesByCardLoader, TransactionCountByCardLoader),
        lambda view: Transaction.of(view.transaction, root),
    )
