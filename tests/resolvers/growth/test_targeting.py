"""``target_offer`` on a database of the test's own: given customers written out below (tier,
stage, segments, consent, spend), when a live offer is targeted, then exactly the eligible
ones who consented to marketing receive it, the quota holds (best affinity first), a second
run assigns nobody twice, an offer that is not live is refused, and the statement count does
not grow with the number of customers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from api.demo.seed import seed_demo
from auth.audit import AuditEvent
from core.database import Database, counting_statements
from core.encryption import KeyRing
from core.errors import Conflict, Forbidden
from core.identity import Principal, Role
from models.audit.audit import AuditEntry
from models.columns import utcnow
from models.customers.identifiers import national_id_check_char
from models.growth.customer_metrics import CustomerMetrics
from models.growth.offer import Offer, OfferAssignment, OfferStatus
from models.growth.tier import Tier
from models.merchants.merchant import Merchant
from models.organisation.organisation import Branch, StaffUser
from resolvers.customers.input import Consent, NewCustomer
from resolvers.customers.records import new_customer_rows
from resolvers.growth.targeting import TargetingResult, target_offer
from tests.models.conftest import FreshDatabase
from tests.support import staff_principal

PUSH = Consent(push=True)
NONE = Consent()


@dataclass(frozen=True)
class Person:
    tier: str = "gold"
    stage: str = "active"
    segments: tuple[str, ...] = ("dining",)
    consent: Consent = PUSH
    spend: dict[str, int] | None = field(default_factory=lambda: {"dining": 5_000})


# The offer below is for gold/platinum, active/loyal, dining or big_ticket, ≥ 10.00 on dining.
PEOPLE = {
    "fit": Person(),
    "sms_only": Person(consent=Consent(sms=True), tier="platinum", stage="loyal"),
    "big_ticket": Person(segments=("big_ticket", "travel"), spend={"dining": 1_000}),
    "no_consent": Person(consent=NONE),
    "wrong_tier": Person(tier="standard"),
    "wrong_stage": Person(stage="dormant"),
    "wrong_segment": Person(segments=("travel",)),
    "never_evaluated": Person(spend=None),
    "spends_too_little": Person(spend={"dining": 999, "travel": 90_000}),
    "spends_elsewhere": Person(spend={"travel": 90_000}),
}
ELIGIBLE = {"fit", "sms_only", "big_ticket"}
OFFER_RULES: dict[str, Any] = {
    "eligible_tiers": ["gold", "platinum"],
    "eligible_stages": ["active", "loyal"],
    "eligible_segments": ["dining", "big_ticket"],
    "spend_categories": ["dining"],
    "min_spend_cents": 1_000,
}


@dataclass
class TargetWorld:
    database: Database
    ring: KeyRing
    marketer: Principal
    merchant_id: uuid.UUID
    branch_id: uuid.UUID
    tiers: dict[str, uuid.UUID]
    serial: int = 0


def _principal(user: StaffUser) -> Principal:
    return staff_principal(Role(user.role), user.branch_id, subject=str(user.id))


@pytest.fixture
async def target_world(fresh_database: FreshDatabase) -> AsyncIterator[TargetWorld]:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            await seed_demo(session, ring, customers=0, seed=1)
            marketer = await session.scalar(select(StaffUser).where(StaffUser.role == "marketer"))
            branch = await session.scalar(select(Branch).limit(1))
            tiers = {t.code: t.id for t in await session.scalars(select(Tier))}
            merchant = Merchant(name="测试商户", category="dining")
            session.add(merchant)
            await session.commit()
            assert marketer is not None
            assert branch is not None
        yield TargetWorld(database, ring, _principal(marketer), merchant.id, branch.id, tiers)


async def _add_people(world: TargetWorld, people: dict[str, Person]) -> dict[str, uuid.UUID]:
    ids = {}
    async with world.database.session() as session:
        for name, person in people.items():
            world.serial += 1
            first17 = f"11010119900101{world.serial:03d}"
            data = NewCustomer(
                name="测试客户",
                birth_date=date(1990, 1, 1),
                id_number=first17 + national_id_check_char(first17),
                phone=f"1380000{world.serial:04d}",
                consent=person.consent,
            ).checked()
            row, _, customer_key = new_customer_rows(
                world.ring, data, branch_id=world.branch_id, tier_id=world.tiers[person.tier]
            )
            session.add(customer_key)
            row.lifecycle_stage = person.stage
            row.segments = list(person.segments)
            session.add(row)
            ids[name] = row.id
        await session.flush()
        for name, person in people.items():
            if person.spend is not None:
                session.add(
                    CustomerMetrics(
                        customer_id=ids[name],
                        evaluated_at=utcnow(),
                        window_days=90,
                        monetary_cents=sum(person.spend.values()),
                        category_spend=person.spend,
                    )
                )
        await session.commit()
    return ids


async def _offer(world: TargetWorld, **values: Any) -> Offer:
    now = utcnow()
    defaults: dict[str, Any] = {
        "merchant_id": world.merchant_id,
        "title": "餐饮八折",
        "category": "dining",
        "benefit_type": "percent_off",
        "benefit_value": 20,
        "starts_at": now - timedelta(days=1),
        "ends_at": now + timedelta(days=30),
        "status": OfferStatus.ACTIVE,
        **OFFER_RULES,
    }
    offer = Offer(**{**defaults, **values})
    async with world.database.session() as session:
        session.add(offer)
        await session.commit()
    return offer


def _events(principal: Principal) -> Any:
    def make(action: str, **kwargs: Any) -> AuditEvent:
        return AuditEvent(actor_kind="staff", actor_id=principal.subject, action=action, **kwargs)

    return make


async def _target(
    world: TargetWorld, offer: Offer, principal: Principal | None = None
) -> TargetingResult:
    caller = principal or world.marketer
    async with world.database.session() as session:
        return await target_offer(
            session=session, principal=caller, offer_id=offer.id, audit_event=_events(caller)
        )


async def _assigned(world: TargetWorld, offer: Offer) -> set[uuid.UUID]:
    async with world.database.session() as session:
        rows = await session.scalars(
            select(OfferAssignment.customer_id).where(OfferAssignment.offer_id == offer.id)
        )
        return set(rows)


async def test_only_eligible_customers_who_consented_receive_the_offer(
    target_world: TargetWorld,
) -> None:
    ids = await _add_people(target_world, PEOPLE)
    offer = await _offer(target_world)

    result = await _target(target_world, offer)

    assert (result.targeted, result.skipped_over_quota) == (3, 0)
    assert await _assigned(target_world, offer) == {ids[name] for name in ELIGIBLE}


async def test_targeting_twice_assigns_nobody_twice(target_world: TargetWorld) -> None:
    await _add_people(target_world, PEOPLE)
    offer = await _offer(target_world)
    first = await _target(target_world, offer)
    newcomer = await _add_people(target_world, {"newcomer": Person()})

    second = await _target(target_world, offer)
    third = await _target(target_world, offer)

    assert (first.targeted, second.targeted, third.targeted) == (3, 1, 0)
    assert newcomer["newcomer"] in await _assigned(target_world, offer)
    async with target_world.database.session() as session:
        total = await session.scalar(
            select(func.count())
            .select_from(OfferAssignment)
            .where(OfferAssignment.offer_id == offer.id)
        )
    assert total == 4


async def test_an_offer_without_rules_reaches_every_consenting_customer(
    target_world: TargetWorld,
) -> None:
    ids = await _add_people(target_world, PEOPLE)
    offer = await _offer(
        target_world,
        eligible_tiers=[],
        eligible_stages=[],
        eligible_segments=[],
        spend_categories=[],
        min_spend_cents=0,
    )
    await _target(target_world, offer)
    assert await _assigned(target_world, offer) == {
        ids[name] for name, person in PEOPLE.items() if person.consent != NONE
    }


async def test_the_quota_goes_to_the_best_affinity_and_the_rest_is_reported(
    target_world: TargetWorld,
) -> None:
    ids = await _add_people(
        target_world,
        {
            "all_dining": Person(spend={"dining": 10_000}),
            "mostly_dining": Person(spend={"dining": 8_000, "travel": 2_000}),
            "half_dining": Person(spend={"dining": 5_000, "travel": 5_000}),
            "little_dining": Person(spend={"dining": 1_000, "travel": 9_000}),
        },
    )
    offer = await _offer(target_world, quota=2)

    first = await _target(target_world, offer)
    again = await _target(target_world, offer)

    assert (first.targeted, first.skipped_over_quota) == (2, 2)
    assert (again.targeted, again.skipped_over_quota) == (0, 2)
    assert await _assigned(target_world, offer) == {ids["all_dining"], ids["mostly_dining"]}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"status": OfferStatus.DRAFT}, "this one is draft"),
        ({"status": OfferStatus.PAUSED}, "this one is paused"),
        ({"status": OfferStatus.EXPIRED}, "this one is expired"),
        ({"ends_at": utcnow() - timedelta(seconds=1)}, "this one is expired"),
        ({"starts_at": utcnow() + timedelta(days=1)}, "this one is active, starting"),
    ],
)
async def test_an_offer_that_is_not_live_is_refused_and_nobody_is_assigned(
    target_world: TargetWorld, values: dict[str, Any], message: str
) -> None:
    await _add_people(target_world, PEOPLE)
    if "ends_at" in values:
        values = {**values, "starts_at": utcnow() - timedelta(days=2)}
    offer = await _offer(target_world, **values)
    with pytest.raises(Conflict, match=message):
        await _target(target_world, offer)
    assert await _assigned(target_world, offer) == set()


async def test_targeting_is_audited_with_its_figures(target_world: TargetWorld) -> None:
    await _add_people(target_world, PEOPLE)
    offer = await _offer(target_world, quota=1)
    await _target(target_world, offer)
    async with target_world.database.session() as session:
        entry = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "offer.target", AuditEntry.target_id == str(offer.id)
            )
        )
    assert entry is not None
    assert entry.actor_id == target_world.marketer.subject
    assert entry.details == {"targeted": 1, "skippedOverQuota": 2}


async def test_only_marketers_and_admins_target(target_world: TargetWorld) -> None:
    offer = await _offer(target_world)
    supervisor = _principal(
        StaffUser(username="s", display_name="s", role="supervisor", password_hash="x")
    )
    with pytest.raises(Forbidden):
        await _target(target_world, offer, supervisor)


async def test_the_statements_do_not_grow_with_the_number_of_customers(
    target_world: TargetWorld,
) -> None:
    await _add_people(target_world, {f"few{i}": Person(segments=("few",)) for i in range(3)})
    await _add_people(target_world, {f"many{i}": Person(segments=("many",)) for i in range(60)})
    few = await _offer(target_world, eligible_segments=["few"])
    many = await _offer(target_world, eligible_segments=["many"])

    counts = []
    for offer in (few, many):
        async with counting_statements() as counter:
            result = await _target(target_world, offer)
        counts.append((result.targeted, counter.value))

    assert counts[0][0] == 3
    assert counts[1][0] == 60
    # lock, offer, count, candidates, one INSERT, count, audit (+ advisory lock on PostgreSQL)
    assert counts[0][1] == counts[1][1] <= 9
