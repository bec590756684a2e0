"""W3's one-time codes: a benchmark merchant, offers of its own and a pool of accepted
codes, each redeemed once by ``redeemOffer`` under load.

Everything goes through the project's own code: the merchant and its OAuth client are made
as ``cardcrm clients create`` makes them (``auth.clients``; the runner fetches the merchant's
token from the started server's real ``/oauth/token``), and every code is issued by
``resolvers.growth.codes.issue_code`` onto an assignment in the ``accepted`` state, as a
customer accepting an offer leaves it. The offers are active, without quota, budget or
minimum spend, so every redemption can succeed; the codes are spread over several offers so
that concurrent redemptions do not all queue on one offer's row lock.

A pool is made before a server's W3 and removed after it (``remove_pool``), so the other
workloads, and the next server, always see the dataset as built.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlmodel import col

from auth import clients
from core.database import Database
from core.encryption import KeyRing
from core.identity import Scope
from models.columns import utcnow
from models.customer_keys import ensure_customer_keys
from models.customers.customer import Customer
from models.growth.offer import AssignmentStatus, BenefitType, Offer, OfferAssignment, OfferStatus
from resolvers.growth.codes import issue_code

MIN_OFFERS = 8
INSERT_CHUNK = 2_000
MERCHANT_SCOPES = frozenset({Scope.OFFERS_READ, Scope.OFFERS_REDEEM})


@dataclass(frozen=True)
class BenchMerchant:
    merchant_id: uuid.UUID
    client_id: str
    client_secret: str


@dataclass
class CodePool:
    offer_ids: list[uuid.UUID]
    codes: list[str] = field(default_factory=list)

    def write(self, path: Path) -> Path:
        path.write_text("".join(f"{code}\n" for code in self.codes), encoding="ascii")
        return path


async def add_bench_merchant(database: Database, name: str = "基准测试商户") -> BenchMerchant:
    """A partner merchant and its OAuth client (client credentials, offers:read/redeem)."""
    async with database.session() as session:
        merchant = await clients.create_merchant(session, name=f"{name} {uuid.uuid4().hex[:6]}")
        credentials = await clients.create_client(
            session,
            actor=clients.Actor(kind="cli", id="bench"),
            scopes=MERCHANT_SCOPES,
            merchant=merchant,
        )
    return BenchMerchant(merchant.id, credentials.client.client_id, credentials.client_secret)


def _offer(merchant_id: uuid.UUID, number: int, now: datetime) -> Offer:
    return Offer(
        merchant_id=merchant_id,
        title=f"基准测试优惠 {number}",
        description="W3 benchmark offer",
        benefit_type=BenefitType.PERCENT_OFF.value,
        benefit_value=10,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
        status=OfferStatus.ACTIVE.value,
    )


def _accepted(
    ring: KeyRing, offer_id: uuid.UUID, customer_id: uuid.UUID, now: datetime
) -> tuple[dict[str, Any], str]:
    """An accepted assignment with a fresh code, as an insert row; and the code in clear."""
    assignment = OfferAssignment(
        offer_id=offer_id,
        customer_id=customer_id,
        status=AssignmentStatus.ACCEPTED.value,
        targeted_at=now,
        viewed_at=now,
        accepted_at=now,
    )
    code = issue_code(ring, assignment)
    columns = OfferAssignment.__table__.columns  # type: ignore[attr-defined]
    return {column.key: getattr(assignment, column.key) for column in columns}, code


def offers_needed(size: int, customers: int) -> int:
    """Offers for ``size`` codes when a customer holds at most one code per offer."""
    if customers < 1:
        raise ValueError("W3 needs customers to hold the codes")
    return max(MIN_OFFERS, math.ceil(size / customers))


async def issue_pool(
    database: Database, ring: KeyRing, merchant_id: uuid.UUID, size: int
) -> CodePool:
    """``size`` accepted codes over new offers of ``merchant_id``; consecutive codes belong to
    different offers."""
    now = utcnow()
    async with database.session() as session:
        # the holders are customers not erased: count those, or the pool runs out of them
        present = col(Customer.erased_at).is_(None)
        customers = int(
            await session.scalar(select(func.count()).select_from(Customer).where(present)) or 0
        )
        offers = [_offer(merchant_id, n, now) for n in range(offers_needed(size, customers))]
        session.add_all(offers)
        await session.flush()
        holders: Sequence[uuid.UUID] = (
            await session.scalars(
                select(col(Customer.id))
                .where(present)
                .order_by(col(Customer.id))
                .limit(math.ceil(size / len(offers)))
            )
        ).all()
        # the codes are sealed under each holder's own key: open them in this process first
        await ensure_customer_keys(session, ring, holders)
        pool = CodePool([offer.id for offer in offers])
        rows = []
        for index in range(size):
            holder = holders[index // len(offers)]
            row, code = _accepted(ring, offers[index % len(offers)].id, holder, now)
            rows.append(row)
            pool.codes.append(code)
        for start in range(0, len(rows), INSERT_CHUNK):
            await session.execute(insert(OfferAssignment), rows[start : start + INSERT_CHUNK])
        await session.commit()
    return pool


async def count_redemptions(database: Database, pool: CodePool) -> int:
    """How many of the pool's codes have been redeemed."""
    async with database.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OfferAssignment)
            .where(
                col(OfferAssignment.offer_id).in_(pool.offer_ids),
                col(OfferAssignment.status) == AssignmentStatus.REDEEMED.value,
            )
        )
    return int(count or 0)


async def remove_pool(database: Database, pool: CodePool) -> None:
    """Deletes the pool's assignments and offers (nothing else refers to them)."""
    async with database.session() as session:
        await session.execute(
            delete(OfferAssignment).where(col(OfferAssignment.offer_id).in_(pool.offer_ids))
        )
        await session.execute(delete(Offer).where(col(Offer.id).in_(pool.offer_ids)))
        await session.commit()
