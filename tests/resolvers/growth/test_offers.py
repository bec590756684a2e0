"""Offers for marketers without GraphQL: the terms' validation, the benefit's cost, the status
machine, and create / update / activate / pause / expire on a database of the test's own
(with their audit entries and version checks)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from api.demo.seed import seed_demo
from auth.audit import AuditEvent
from auth.scopes import ROLE_SCOPES
from core.database import Database
from core.errors import BadUserInput, Conflict, Forbidden
from core.identity import Principal, Role
from models.audit.audit import AuditEntry
from models.columns import utcnow
from models.growth.offer import AssignmentStatus, BenefitType, Offer, OfferAssignment, OfferStatus
from models.merchants.merchant import Merchant
from models.organisation.organisation import StaffUser
from resolvers.growth.benefit import benefit_cost_cents
from resolvers.growth.offer_input import OfferTerms, benefit_units
from resolvers.growth.offer_workflow import (
    ASSIGNMENT_WORKFLOW,
    OFFER_WORKFLOW,
    AssignmentAction,
    OfferAction,
    effective_assignment_status,
    effective_status,
    is_live,
)
from resolvers.growth.offers import OfferChanges, change_offer_status, create_offer, update_offer
from tests.models.conftest import FreshDatabase
from tests.support import staff_principal

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
TERMS = OfferTerms(
    merchant_id=uuid.uuid4(),
    title="  拿铁   第二杯半价 ",
    benefit_type="percent_off",
    benefit_value=50,
    starts_at=NOW - timedelta(days=1),
    ends_at=NOW + timedelta(days=30),
    category="dining",
    eligible_tiers=("gold", "GOLD", "silver"),
    eligible_stages=("active",),
    eligible_segments=("Dining",),
    spend_categories=("dining",),
)


def test_valid_terms_come_back_normalised() -> None:
    terms = TERMS.checked(now=NOW)
    assert terms.title == "拿铁 第二杯半价"
    assert terms.eligible_tiers == ("gold", "silver")
    assert terms.eligible_segments == ("dining",)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"category": "casino"}, "category"),
        ({"benefit_type": "free_money"}, "benefitType"),
        ({"benefit_value": 0}, "benefitValue"),
        ({"benefit_value": 101}, "benefitValue"),
        ({"benefit_type": "amount_off", "benefit_value": 0}, "benefitValue"),
        ({"benefit_type": "cashback", "benefit_value": -5}, "benefitValue"),
        ({"benefit_type": "points_multiplier", "benefit_value": 1}, "benefitValue"),
        ({"ends_at": NOW - timedelta(days=1)}, "endsAt"),
        ({"ends_at": NOW - timedelta(days=1), "starts_at": NOW - timedelta(days=1)}, "endsAt"),
        ({"starts_at": NOW.replace(tzinfo=None)}, "startsAt"),
        ({"quota": 0}, "quota"),
        ({"benefit_type": "cashback", "benefit_value": 2**31}, "benefitValue"),
        ({"budget_cents": 0}, "budget"),
        ({"budget_cents": 2**31}, "budget"),
        ({"min_spend_cents": -1}, "minSpend"),
        ({"min_spend_cents": 2**31}, "minSpend"),
        ({"eligible_tiers": ("gold", "titanium")}, "eligibleTiers"),
        ({"eligible_stages": ("sleepy",)}, "eligibleStages"),
        ({"spend_categories": ("casino",)}, "spendCategories"),
        ({"eligible_segments": ("big ticket",)}, "eligibleSegments"),
    ],
)
def test_bad_terms_are_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(BadUserInput) as caught:
        replace(TERMS, **changes).checked(now=NOW)
    assert caught.value.field == field


def test_an_end_already_past_is_refused_even_after_a_valid_start() -> None:
    with pytest.raises(BadUserInput, match="in the future"):
        replace(TERMS, ends_at=NOW - timedelta(hours=1)).checked(now=NOW.replace(year=2026))


def test_merging_changes_keeps_what_was_not_given_and_none_clears_a_limit() -> None:
    terms = replace(TERMS, quota=10, budget_cents=500)
    merged = terms.merged({"title": "新标题", "quota": None, "benefit_value": None})
    assert (merged.title, merged.quota, merged.budget_cents) == ("新标题", None, 500)
    assert merged.benefit_value == TERMS.benefit_value


@pytest.mark.parametrize(
    ("kind", "given", "kept"),
    [
        (BenefitType.PERCENT_OFF, "20", 20),
        (BenefitType.PERCENT_OFF, "20.00", 20),  # a whole number, however it is written
        (BenefitType.AMOUNT_OFF, "20", 2_000),  # yuan → cents
        (BenefitType.CASHBACK, "8.88", 888),
        (BenefitType.POINTS_MULTIPLIER, "3", 3),
    ],
)
def test_a_benefit_value_is_kept_in_the_unit_of_its_type(
    kind: BenefitType, given: str, kept: int
) -> None:
    assert benefit_units(kind, Decimal(given)) == kept


@pytest.mark.parametrize(
    ("kind", "given"),
    [
        (BenefitType.PERCENT_OFF, "12.5"),
        (BenefitType.POINTS_MULTIPLIER, "1.5"),
        (BenefitType.PERCENT_OFF, "NaN"),
        (BenefitType.AMOUNT_OFF, "0.001"),
        (BenefitType.CASHBACK, "Infinity"),
        (BenefitType.CASHBACK, "-1"),
    ],
)
def test_a_fraction_the_unit_does_not_have_is_refused(kind: BenefitType, given: str) -> None:
    with pytest.raises(BadUserInput) as caught:
        benefit_units(kind, Decimal(given))
    assert caught.value.field == "benefitValue"


@pytest.mark.parametrize(
    ("benefit", "value", "amount", "cost"),
    [
        ("percent_off", 20, 10_000, 2_000),
        ("percent_off", 15, 999, 149),  # rounded down to the cent
        ("amount_off", 5_000, 12_000, 5_000),
        ("amount_off", 5_000, 3_000, 3_000),  # never more than the purchase
        ("cashback", 888, 100, 888),
        ("points_multiplier", 3, 50_000, 0),
    ],
)
def test_a_redemption_costs_the_budget_what_the_benefit_gives(
    benefit: str, value: int, amount: int, cost: int
) -> None:
    assert benefit_cost_cents(benefit, value, amount) == cost


@given(
    percent=st.integers(1, 100),
    off=st.integers(1, 10**9),
    amount=st.integers(0, 10**12),
)
def test_a_discount_never_exceeds_the_purchase(percent: int, off: int, amount: int) -> None:
    assert 0 <= benefit_cost_cents("percent_off", percent, amount) <= amount
    assert 0 <= benefit_cost_cents("amount_off", off, amount) <= amount
    assert benefit_cost_cents("percent_off", 100, amount) == amount


S, A = OfferStatus, OfferAction
# Every (status, action) pair, written out by hand: None means refused.
WORKFLOW = {
    (S.DRAFT, A.ACTIVATE): S.ACTIVE,
    (S.DRAFT, A.PAUSE): None,
    (S.DRAFT, A.EXPIRE): S.EXPIRED,
    (S.ACTIVE, A.ACTIVATE): None,
    (S.ACTIVE, A.PAUSE): S.PAUSED,
    (S.ACTIVE, A.EXPIRE): S.EXPIRED,
    (S.PAUSED, A.ACTIVATE): S.ACTIVE,
    (S.PAUSED, A.PAUSE): None,
    (S.PAUSED, A.EXPIRE): S.EXPIRED,
    (S.EXPIRED, A.ACTIVATE): None,
    (S.EXPIRED, A.PAUSE): None,
    (S.EXPIRED, A.EXPIRE): None,
}


@pytest.mark.parametrize(("pair", "expected"), list(WORKFLOW.items()))
def test_the_status_machine_allows_exactly_the_written_transitions(
    pair: tuple[OfferStatus, OfferAction], expected: OfferStatus | None
) -> None:
    status, action = pair
    if expected is None:
        with pytest.raises(Conflict, match=f"cannot {action.value} an offer that is"):
            OFFER_WORKFLOW.next_state(status, action)
        assert action not in OFFER_WORKFLOW.allowed_actions(status)
    else:
        assert OFFER_WORKFLOW.next_state(status, action) is expected
        assert action in OFFER_WORKFLOW.allowed_actions(status)


def _offer(status: OfferStatus, *, starts: timedelta, ends: timedelta) -> Offer:
    return Offer(
        merchant_id=uuid.uuid4(),
        title="t",
        starts_at=NOW + starts,
        ends_at=NOW + ends,
        status=status,
    )


def test_an_offer_past_its_window_is_expired_whatever_was_stored() -> None:
    over = _offer(S.ACTIVE, starts=timedelta(days=-9), ends=timedelta(seconds=-1))
    assert effective_status(over, NOW) is S.EXPIRED
    assert not is_live(over, NOW)
    assert OFFER_WORKFLOW.allowed_actions(effective_status(over, NOW)) == []


def test_an_active_offer_is_live_only_inside_its_window() -> None:
    upcoming = _offer(S.ACTIVE, starts=timedelta(days=1), ends=timedelta(days=9))
    running = _offer(S.ACTIVE, starts=timedelta(0), ends=timedelta(days=9))
    paused = _offer(S.PAUSED, starts=timedelta(days=-1), ends=timedelta(days=9))
    assert [is_live(o, NOW) for o in (upcoming, running, paused)] == [False, True, False]


AS = AssignmentStatus
ASSIGNMENT_FLOW = {
    (AS.TARGETED, AssignmentAction.VIEW): AS.VIEWED,
    (AS.VIEWED, AssignmentAction.VIEW): None,  # unchanged
    (AS.ACCEPTED, AssignmentAction.VIEW): None,
    (AS.EXPIRED, AssignmentAction.VIEW): None,
    (AS.TARGETED, AssignmentAction.ACCEPT): AS.ACCEPTED,
    (AS.VIEWED, AssignmentAction.ACCEPT): AS.ACCEPTED,
    (AS.ACCEPTED, AssignmentAction.ACCEPT): None,
}


@pytest.mark.parametrize(("pair", "expected"), list(ASSIGNMENT_FLOW.items()))
def test_viewing_and_accepting_follow_the_assignment_table(
    pair: tuple[AssignmentStatus, AssignmentAction], expected: AssignmentStatus | None
) -> None:
    assert ASSIGNMENT_WORKFLOW.step(*pair) is expected


@pytest.mark.parametrize("status", [AS.REDEEMED, AS.EXPIRED])
def test_a_redeemed_or_expired_assignment_cannot_be_accepted(status: AssignmentStatus) -> None:
    with pytest.raises(Conflict, match=f"cannot accept an offer that is {status.value}"):
        ASSIGNMENT_WORKFLOW.step(status, AssignmentAction.ACCEPT)


def test_an_unredeemed_assignment_expires_with_its_offer_a_redeemed_one_stays() -> None:
    over = _offer(S.ACTIVE, starts=timedelta(days=-9), ends=timedelta(seconds=-1))
    accepted = OfferAssignment(offer_id=over.id, customer_id=uuid.uuid4(), status=AS.ACCEPTED)
    redeemed = OfferAssignment(offer_id=over.id, customer_id=uuid.uuid4(), status=AS.REDEEMED)
    assert effective_assignment_status(accepted, over, NOW) is AS.EXPIRED
    assert effective_assignment_status(redeemed, over, NOW) is AS.REDEEMED


# --- on a database of the test's own ---------------------------------------------------


@dataclass
class OfferWorld:
    database: Database
    marketer: Principal
    merchant_id: uuid.UUID


def _principal(user: StaffUser) -> Principal:
    return staff_principal(Role(user.role), user.branch_id, subject=str(user.id))


def _audit_event(principal: Principal) -> Any:
    def make(action: str, **kwargs: Any) -> AuditEvent:
        return AuditEvent(actor_kind="staff", actor_id=principal.subject, action=action, **kwargs)

    return make


@pytest.fixture
async def offer_world(fresh_database: FreshDatabase) -> AsyncIterator[OfferWorld]:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            await seed_demo(session, ring, customers=0, seed=1)
            marketer = await session.scalar(select(StaffUser).where(StaffUser.role == "marketer"))
            merchant = Merchant(name="测试商户", category="dining")
            session.add(merchant)
            await session.commit()
            assert marketer is not None
        yield OfferWorld(database, _principal(marketer), merchant.id)


def _terms(world: OfferWorld, **changes: Any) -> OfferTerms:
    now = utcnow()
    base = replace(
        TERMS,
        merchant_id=world.merchant_id,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
    )
    return replace(base, **changes)


async def _create(world: OfferWorld, **changes: Any) -> Offer:
    async with world.database.session() as session:
        return await create_offer(
            session=session,
            principal=world.marketer,
            terms=_terms(world, **changes),
            audit_event=_audit_event(world.marketer),
        )


async def _status(world: OfferWorld, offer: Offer, action: OfferAction) -> Offer:
    async with world.database.session() as session:
        return await change_offer_status(
            session=session,
            principal=world.marketer,
            offer_id=offer.id,
            version=offer.version,
            action=action,
            audit_event=_audit_event(world.marketer),
        )


async def _audit_actions(world: OfferWorld, offer: Offer) -> list[tuple[str, list[str], Any]]:
    async with world.database.session() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.target_id == str(offer.id)).order_by(AuditEntry.seq)
        )
        return [(row.action, row.fields, row.details) for row in rows]


async def test_a_new_offer_is_a_draft_that_keeps_its_creator(offer_world: OfferWorld) -> None:
    offer = await _create(offer_world, quota=100)
    assert (offer.status, offer.version, offer.quota) == ("draft", 1, 100)
    assert offer.created_by == offer_world.marketer.staff_id
    assert offer.eligible_tiers == ["gold", "silver"]


async def test_the_workflow_is_audited_step_by_step(offer_world: OfferWorld) -> None:
    offer = await _create(offer_world)
    active = await _status(offer_world, offer, OfferAction.ACTIVATE)
    paused = await _status(offer_world, active, OfferAction.PAUSE)
    expired = await _status(offer_world, paused, OfferAction.EXPIRE)

    assert (expired.status, expired.version) == ("expired", 4)
    assert await _audit_actions(offer_world, offer) == [
        ("offer.create", [], {}),
        ("offer.activate", [], {"from": "draft", "to": "active"}),
        ("offer.pause", [], {"from": "active", "to": "paused"}),
        ("offer.expire", [], {"from": "paused", "to": "expired"}),
    ]


async def test_an_update_changes_only_what_was_given_at_the_current_version(
    offer_world: OfferWorld,
) -> None:
    offer = await _create(offer_world)
    async with offer_world.database.session() as session:
        changed = await update_offer(
            session=session,
            principal=offer_world.marketer,
            changes=OfferChanges(offer.id, 1, {"benefit_value": 30, "eligible_stages": ()}),
            audit_event=_audit_event(offer_world.marketer),
        )
    assert (changed.benefit_value, changed.eligible_stages, changed.version) == (30, [], 2)
    assert changed.title == offer.title
    assert (await _audit_actions(offer_world, offer))[-1] == (
        "offer.update",
        ["benefit_value", "eligible_stages"],
        {},
    )
    with pytest.raises(Conflict, match="version 2, not 1"):
        async with offer_world.database.session() as session:
            await update_offer(
                session=session,
                principal=offer_world.marketer,
                changes=OfferChanges(offer.id, 1, {"title": "过期的编辑"}),
                audit_event=_audit_event(offer_world.marketer),
            )


async def test_an_offer_past_its_window_cannot_be_activated_or_edited(
    offer_world: OfferWorld,
) -> None:
    offer = await _create(offer_world)
    async with offer_world.database.session() as session:
        await session.execute(
            update(Offer)
            .where(Offer.id == offer.id)  # type: ignore[arg-type]
            .values(starts_at=utcnow() - timedelta(days=9), ends_at=utcnow() - timedelta(days=1))
        )
        await session.commit()
    with pytest.raises(Conflict, match="cannot activate an offer that is expired"):
        await _status(offer_world, offer, OfferAction.ACTIVATE)
    with pytest.raises(Conflict, match="can no longer be changed"):
        async with offer_world.database.session() as session:
            await update_offer(
                session=session,
                principal=offer_world.marketer,
                changes=OfferChanges(offer.id, 1, {"title": "复活"}),
                audit_event=_audit_event(offer_world.marketer),
            )


async def test_an_unknown_merchant_is_bad_user_input(offer_world: OfferWorld) -> None:
    with pytest.raises(BadUserInput) as caught:
        await _create(offer_world, merchant_id=uuid.uuid4())
    assert caught.value.field == "merchantId"


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENT, Role.AUDITOR, Role.CUSTOMER])
async def test_only_marketers_and_admins_write_offers(offer_world: OfferWorld, role: Role) -> None:
    caller = replace(offer_world.marketer, role=role, scopes=ROLE_SCOPES[role])
    async with offer_world.database.session() as session:
        with pytest.raises(Forbidden):
            await create_offer(
                session=session,
                principal=caller,
                terms=_terms(offer_world),
                audit_event=_audit_event(caller),
            )
