"""The callers of a run, made once on the built and evaluated database: an agent and a
marketer with tokens (signed with the key the servers load from the shared var dir), the W2
customer in the agent's branch, and W3's merchant with its OAuth client
(``bench.redeem_codes``).

The W2 customer is the first (by id) of the agent's branch to whom cardcrm recommends at
least one offer (``resolvers.growth.recommendation``, after ``bench.preparation``'s
evaluation): many customers have no spend in any offer's category, and a W2 with an empty
``recommendedOffers`` would leave the ranking out of every server's figure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.state import token_service
from auth.audit_key import attach_chain_key
from auth.login import access_token_for
from bench.redeem_codes import BenchMerchant, add_bench_merchant
from core.database import Database
from core.request_database import RequestDatabase
from core.settings import Settings
from models.customers.customer import Customer
from models.key_store import master_key_from_settings
from models.organisation.organisation import StaffUser
from resolvers.growth.recommendation import Recommender
from schema.relay import to_global_id

TOKEN_TTL = 6 * 3600  # a full run is well under this
W2_CANDIDATES = 200  # customers of the branch looked at for one with recommended offers


@dataclass(frozen=True)
class Fixtures:
    """Who calls and about what: tokens, the W2 customer, bare's branch, W3's merchant."""

    agent_token: str  # W1, W2: an agent of ``branch_id``
    analyst_token: str  # W4: a role that sees every branch
    customer_id: str  # W2: a global id in the agent's branch
    recommended_offers: int  # what cardcrm recommends the W2 customer (0: none had any)
    branch_id: uuid.UUID
    merchant: BenchMerchant


async def _w2_customer(
    session: AsyncSession, branch_id: uuid.UUID | None
) -> tuple[uuid.UUID | None, int]:
    """The branch's first customer with recommended offers (else its first), and how many."""
    candidates = list(
        await session.scalars(
            select(col(Customer.id))
            .where(col(Customer.branch_id) == branch_id)
            .order_by(col(Customer.id))
            .limit(W2_CANDIDATES)
        )
    )
    if not candidates:
        return None, 0
    loader = Recommender(RequestDatabase(session))
    recommended = await loader.for_customers(candidates)
    for customer, offers in zip(candidates, recommended, strict=True):
        if offers:
            return customer, len(offers)
    return candidates[0], 0


async def make_fixtures(database: Database, settings: Settings) -> Fixtures:
    """The callers: tokens signed with the key the servers will load from the var dir."""
    async with database.session() as session:
        # The merchant's OAuth client is audited, under this database's audit chain key.
        await attach_chain_key(session, master_key_from_settings(settings))
        staff = {
            user.username: user
            for user in await session.scalars(
                select(StaffUser).where(
                    col(StaffUser.username).in_(["demo-agent", "demo-marketer"])
                )
            )
        }
        agent = staff["demo-agent"]
        customer, recommended = await _w2_customer(session, agent.branch_id)
    tokens = token_service(settings)

    def token(user: StaffUser) -> str:
        return access_token_for(tokens, user, TOKEN_TTL)

    if agent.branch_id is None or customer is None:
        raise RuntimeError("the dataset has no demo-agent with a branch and customers in it")
    return Fixtures(
        agent_token=token(agent),
        analyst_token=token(staff["demo-marketer"]),
        customer_id=to_global_id("Customer", customer),
        recommended_offers=recommended,
        branch_id=agent.branch_id,
        merchant=await add_bench_merchant(database),
    )
