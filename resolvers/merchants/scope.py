"""Row scoping for partner merchants (SPEC §1): a merchant reaches its own offers only.

Every merchant resolver starts with ``calling_merchant``: the caller must be a merchant
principal (staff, customers and service accounts use their own fields); the scope each
operation needs is declared on its GraphQL field (``schema.scope_field``). An offer of another
merchant is NOT_FOUND, exactly like one that does not exist, so a merchant cannot probe for
other merchants' offers.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement
from sqlmodel import col, select

from core.errors import Forbidden, NotFound
from core.identity import Principal, PrincipalKind
from core.request_database import RequestDatabase
from models.growth.offer import Offer

OFFER_NOT_FOUND = "no offer with this id is visible to you"


def calling_merchant(principal: Principal) -> uuid.UUID:
    """The id of the merchant the token speaks for; FORBIDDEN for anyone else."""
    if principal.kind is not PrincipalKind.MERCHANT or principal.merchant_id is None:
        raise Forbidden("this operation is for partner merchant tokens; staff use `offers`")
    return principal.merchant_id


def own_offers(merchant_id: uuid.UUID) -> ColumnElement[bool]:
    return col(Offer.merchant_id) == merchant_id


async def own_offer(
    db: RequestDatabase, merchant_id: uuid.UUID, offer_id: uuid.UUID, *, field: str = "offerId"
) -> Offer:
    rows = await db.scalars(select(Offer).where(col(Offer.id) == offer_id, own_offers(merchant_id)))
    if not rows:
        raise NotFound(OFFER_NOT_FOUND, field=field)
    offer: Offer = rows[0]
    return offer
