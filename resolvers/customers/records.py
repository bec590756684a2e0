"""Customer reads and writes: plain async functions, testable without GraphQL (STYLE §2).

Every read goes through ``customer_scope``; lookups by phone or national ID
(``resolvers.customers.lookups``) go through the blind index, so no value is decrypted to
search. Writes seal C2 values with the row's own id as associated data and are audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from auth import audit
from auth.audit import AuditEvent
from auth.lookups import lookup_rule
from auth.masking import mask_id_number
from core.encryption import KeyRing
from core.errors import BadUserInput, Conflict, Forbidden, NotFound
from core.identity import Principal
from core.request_database import RequestDatabase
from core.settings import Settings
from models.cards.card import PAN_INDEX, Card, CardStatus
from models.cards.statement import cycle_day_for
from models.columns import utcnow
from models.customer_keys import ensure_customer_keys, new_customer_key_row
from models.customers.customer import Customer
from models.customers.identifiers import (
    BIRTHDAY_INDEX,
    birthday_key,
    normalize_email,
    normalize_mobile,
    normalize_name,
)
from models.growth.tier import Tier
from models.keys import CustomerKey
from models.organisation.organisation import Branch
from models.privacy.consent import ConsentSource
from models.sealing import seal_field
from resolvers.customers.customer_order import CustomerOrderField, page_by_metric
from resolvers.customers.disclosure import (
    CREATE_ACTION,
    Guess,
    LookupReason,
    check_budget,
    conflict_event,
    record_conflict,
)
from resolvers.customers.duplicates import conflict_for, duplicated_field, holder_of, registered
from resolvers.customers.input import (
    Consent,
    NewCard,
    NewCustomer,
    checked,
    checked_address,
    checked_tags,
)
from resolvers.customers.segment_filter import SegmentFilter, checked_filter, filter_conditions
from resolvers.erasure_guard import refuse_erased
from resolvers.pagination import Page, PageArgs, SortDirection, page_with_count
from resolvers.privacy.consent_history import (
    consent_changes,
    granted_of,
    onboarding_changes,
    record_consent_changes,
)
from resolvers.scoping import CUSTOMER_NOT_FOUND, customer_scope

PHONE_INDEX = "phone"
ID_NUMBER_INDEX = "id_number"
NAME_INDEX = "name"
CUSTOMER_NUMBER_INDEX = "customer_number"


async def list_customers(
    *,
    db: RequestDatabase,
    principal: Principal,
    settings: Settings,
    filter: SegmentFilter,
    page: PageArgs,
    direction: SortDirection = SortDirection.DESC,
    order: CustomerOrderField = CustomerOrderField.CREATED_AT,
) -> tuple[Page[Customer], Callable[[], Awaitable[int]]]:
    """One page of customers in the caller's scope, and a lazy count of all of them. The field
    declares ``customers:list``, which marketers lack: a list of people would undo analytics'
    small-group suppression (SPEC: marketers get counts, never people)."""
    conditions = filter_conditions(principal, checked_filter(filter))
    args = page.validated(settings.default_page_size, settings.max_page_size)
    if order is not CustomerOrderField.CREATED_AT:
        return await page_by_metric(db, conditions, field=order, args=args, direction=direction)
    return await page_with_count(
        db,
        Customer,
        conditions,
        sort_col=col(Customer.created_at),
        id_col=col(Customer.id),
        args=args,
        direction=direction,
    )


async def _one_in_scope(db: RequestDatabase, principal: Principal, condition: Any) -> Customer:
    rows = await db.scalars(select(Customer).where(condition, customer_scope(principal)).limit(1))
    if not rows:
        raise NotFound(CUSTOMER_NOT_FOUND)
    row: Customer = rows[0]
    return row


async def get_customer(
    *, db: RequestDatabase, principal: Principal, customer_id: uuid.UUID
) -> Customer:
    return await _one_in_scope(db, principal, Customer.id == customer_id)


def _seal_name(ring: KeyRing, row: Customer, name: str) -> None:
    seal_field(ring, row, "name", name)
    row.name_bidx = ring.blind_index(NAME_INDEX, normalize_name(name))


def _seal_contact(
    ring: KeyRing, row: Customer, *, phone: str | None = None, id_number: str | None = None
) -> None:
    if phone is not None:
        seal_field(ring, row, "phone", phone)
        row.phone_bidx = ring.blind_index(PHONE_INDEX, phone)
    if id_number is not None:
        seal_field(ring, row, "id_number", id_number)
        row.id_number_bidx = ring.blind_index(ID_NUMBER_INDEX, id_number)


def _apply_consent(row: Customer, consent: Consent) -> None:
    row.consent_sms, row.consent_email = consent.sms, consent.email
    row.consent_push, row.consent_phone = consent.push, consent.phone
    row.do_not_disturb_start = consent.do_not_disturb_start
    row.do_not_disturb_end = consent.do_not_disturb_end
    row.preferred_channel = consent.preferred_channel


def new_card_row(
    ring: KeyRing,
    customer_id: uuid.UUID,
    card: NewCard,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Card:
    """A card keeps only the sealed PAN, its BIN and last 4, and a blind index for imports."""
    row = Card(
        id=new_id(),
        customer_id=customer_id,
        product=card.product,
        bin=card.pan[:6],
        last4=card.pan[-4:],
        credit_limit_cents=int(card.credit_limit * 100),
        status=CardStatus.ISSUED,
        issued_at=utcnow(),
    )
    row.statement_day = cycle_day_for(row.id)
    seal_field(ring, row, "pan", card.pan)
    row.pan_bidx = ring.blind_index(PAN_INDEX, card.pan)
    return row


def new_customer_rows(
    ring: KeyRing,
    data: NewCustomer,
    *,
    branch_id: uuid.UUID,
    tier_id: uuid.UUID,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> tuple[Customer, list[Card], CustomerKey]:
    """Builds (without saving) a customer, their cards and their own key (which seals their
    values, ``models.customer_keys``) from already-checked input; all three are saved in one
    transaction.

    ``new_id`` exists so the demo seeder can make ids deterministic for a seed.
    """
    row = Customer(
        id=new_id(), branch_id=branch_id, tier_id=tier_id, gender=data.gender, tags=list(data.tags)
    )
    key = new_customer_key_row(ring, row.id)
    _seal_name(ring, row, data.name)
    seal_field(ring, row, "birth_date", data.birth_date.isoformat())
    row.birthday_bidx = ring.blind_index(BIRTHDAY_INDEX, birthday_key(data.birth_date))
    seal_field(ring, row, "email", data.email)
    seal_field(ring, row, "address", data.address)
    _seal_contact(ring, row, phone=data.phone, id_number=data.id_number)
    if data.customer_number is not None:
        seal_field(ring, row, "customer_number", data.customer_number)
        row.customer_number_bidx = ring.blind_index(CUSTOMER_NUMBER_INDEX, data.customer_number)
    _apply_consent(row, data.consent)
    return row, [new_card_row(ring, row.id, card, new_id) for card in data.cards], key


async def _target_branch(session: AsyncSession, principal: Principal, requested: Any) -> uuid.UUID:
    if not principal.sees_all_branches:
        if requested is not None and requested != principal.branch_id:
            raise Forbidden("you can create customers only in your own branch", field="branchId")
        requested = principal.branch_id
    if requested is None:
        raise BadUserInput("branchId is required for your role", field="branchId")
    if await session.get(Branch, requested) is None:
        raise BadUserInput("branchId names no branch", field="branchId")
    return uuid.UUID(str(requested))


async def _tier_id(session: AsyncSession, code: str) -> uuid.UUID:
    tier_id = await session.scalar(select(Tier.id).where(Tier.code == code))
    if tier_id is None:
        raise BadUserInput(f"no tier with code {code}", field="tierCode")
    return uuid.UUID(str(tier_id))


async def create_customer(
    *,
    session: AsyncSession,
    ring: KeyRing,
    settings: Settings,
    principal: Principal,
    data: NewCustomer,
    audit_event: Callable[..., AuditEvent],
) -> Customer:
    """Creates the customer; a national ID or card number already registered is a CONFLICT
    that discloses it, so it is counted and audited as a lookup, and a caller whose lookup
    budget is spent is refused before any duplicate is tested."""
    data = data.checked()
    branch_id = await _target_branch(session, principal, data.branch_id)
    row, cards, key = new_customer_rows(
        ring, data, branch_id=branch_id, tier_id=await _tier_id(session, data.tier_code)
    )
    # The budget, the cap on guesses at one masked ID (each create tells that its ID was
    # not registered), the duplicate test and its audit entry under one lock: concurrent
    # creates cannot all pass a budget that has room for one of them.
    masked = mask_id_number(data.id_number)
    masked_detail = {
        "masked": masked
    }  # a miss on that masked form (resolvers.customers.disclosure)
    guess = Guess(lookup_rule("idNumber"), masked, LookupReason.NEW_CUSTOMER)
    async with audit.chain_lock(session):
        await check_budget(session, settings, principal, guess, audit_event)
        if (duplicate := await registered(session, row, cards)) is not None:
            field, holder = duplicate
            event = conflict_event(audit_event, lookup_rule(field), holder)
            await audit.append(session, event)
            await session.commit()
            raise conflict_for(field)
        try:
            await _insert(
                session, row, cards, key, audit_event(CREATE_ACTION, details=masked_detail)
            )
        except IntegrityError as exc:  # a duplicate written since the test (another process)
            await session.rollback()
            raced: IntegrityError | None = exc
        else:
            raced = None
    if raced is not None:
        disclosed = duplicated_field(raced)
        if disclosed is not None:
            owner = await holder_of(session, row, cards, disclosed)
            await record_conflict(session, audit_event, lookup_rule(disclosed), owner)
        raise conflict_for(disclosed) from raced
    return row


async def _insert(
    session: AsyncSession, row: Customer, cards: list[Card], key: CustomerKey, event: AuditEvent
) -> None:
    """Inserts the customer, its cards and key with their audit entry, inside ``chain_lock``."""
    session.add(row)
    await session.flush()  # the customer before its cards: no ORM relationships order them
    session.add_all([key, *cards])
    await session.flush()
    # A row per channel granted, in the creation's transaction.
    await record_consent_changes(session, onboarding_changes([row], event.actor_id))
    fields = ["name", "birthDate", "idNumber", "phone", "email", "address"]
    if row.customer_number_enc is not None:
        fields.append("customerNumber")
    done = replace(event, target_type="Customer", target_id=str(row.id), fields=fields)
    await audit.append(session, done)
    await session.commit()


@dataclass(frozen=True)
class CustomerChanges:
    customer_id: uuid.UUID
    version: int
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    consent: Consent | None = None
    tags: tuple[str, ...] | None = None

    def changed_fields(self) -> list[str]:
        names = ("name", "phone", "email", "address", "consent", "tags")
        return [name for name in names if getattr(self, name) is not None]


def _sealed_changes(ring: KeyRing, row: Customer, changes: CustomerChanges) -> None:
    if changes.name is not None:
        _seal_name(ring, row, checked("name", normalize_name, changes.name))
    if changes.email is not None:
        seal_field(ring, row, "email", checked("email", normalize_email, changes.email))
    if changes.address is not None:
        seal_field(ring, row, "address", checked_address(changes.address))
    if changes.phone is not None:
        _seal_contact(ring, row, phone=checked("phone", normalize_mobile, changes.phone))


async def update_customer(
    *,
    session: AsyncSession,
    ring: KeyRing,
    principal: Principal,
    changes: CustomerChanges,
    audit_event: Callable[..., AuditEvent],
) -> Customer:
    """Applies the changes only if the caller holds the current ``version`` (else CONFLICT)."""
    fields = changes.changed_fields()
    if not fields:
        raise BadUserInput("nothing to change: pass at least one field besides id and version")
    row = await session.scalar(
        select(Customer).where(Customer.id == changes.customer_id, customer_scope(principal))
    )
    if row is None:
        raise NotFound(CUSTOMER_NOT_FOUND)
    refuse_erased(row)
    if row.version != changes.version:
        raise Conflict(
            f"the customer is at version {row.version}, not {changes.version}; reload it and retry",
            field="version",
        )
    await ensure_customer_keys(session, ring, [row.id])
    _sealed_changes(ring, row, changes)
    granted_before = granted_of(row)
    if changes.consent is not None:
        _apply_consent(row, changes.consent.checked())
    if changes.tags is not None:
        row.tags = list(checked_tags(changes.tags))
    values = {column: getattr(row, column) for column in _UPDATABLE}
    values.update(version=changes.version + 1, updated_at=utcnow())
    session.expunge(row)
    result = await session.execute(
        update(Customer)
        .where(Customer.id == row.id, Customer.version == changes.version)  # type: ignore[arg-type]
        .values(values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        raise Conflict(
            "the customer changed while you were editing it; reload it and retry", field="version"
        )
    history = consent_changes(  # only the channels that changed, with the update's commit
        row.id,
        granted_before,
        granted_of(row),
        source=ConsentSource.STAFF,
        actor_id=principal.subject,
    )
    await record_consent_changes(session, history)
    await audit.record_and_commit(
        session,
        audit_event(
            "customer.update",
            target_type="Customer",
            target_id=str(row.id),
            fields=fields,
        ),
    )
    fresh = await session.get(Customer, row.id, populate_existing=True)
    assert fresh is not None
    return fresh


_UPDATABLE = (
    "name_enc",
    "name_bidx",
    "phone_enc",
    "phone_bidx",
    "email_enc",
    "address_enc",
    "consent_sms",
    "consent_email",
    "consent_push",
    "consent_phone",
    "do_not_disturb_start",
    "do_not_disturb_end",
    "preferred_channel",
    "tags",
)
