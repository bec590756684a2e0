"""Customer queries and mutations: each field converts its arguments and calls resolvers/."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from auth.lookups import lookup_rule
from auth.policy import PiiField
from core.context import Context, Info
from core.errors import Forbidden
from core.identity import Scope
from models.customers.customer import Customer as CustomerRow
from models.customers.customer import Gender
from models.growth.tier import TierCode
from resolvers.customers import records as service
from resolvers.customers import reveal as reveal_service
from resolvers.customers.customer_order import CustomerOrderField
from resolvers.customers.disclosure import LookupReason
from resolvers.customers.input import TAGS_RULE, Consent, NewCard, NewCustomer
from resolvers.customers.lookups import Lookup, NameLookup, customer_by_lookup, customers_by_name
from resolvers.pagination import PageArgs, SortDirection
from resolvers.purpose import PURPOSE_RULE
from schema.common import UserError, mutation_payload, payload_field
from schema.customers import texts
from schema.customers.customer import ConsentInput, CustomerFields, CustomerRef
from schema.customers.filter import CustomerFilter, to_filter
from schema.lookup_field import lookup_field
from schema.relay import After, Before, Connection, First, Last, uuid_of
from schema.scope_field import scoped_field

T = TypeVar("T")


@strawberry.input(description="The order of `customers`. Name is not sortable: it is encrypted.")
class CustomerOrder:
    field: CustomerOrderField = strawberry.field(
        default=CustomerOrderField.CREATED_AT,
        description="The sort key (creation time by default), ties broken by ID.",
    )
    direction: SortDirection = strawberry.field(
        default=SortDirection.DESC, description="DESC (the default) puts the newest first."
    )


ReasonArg = Annotated[LookupReason, strawberry.argument(description=texts.REASON)]
FilterArg = Annotated[CustomerFilter | None, strawberry.argument(description="Narrows the list.")]
OrderArg = Annotated[
    CustomerOrder | None, strawberry.argument(description="The order; null: newest first.")
]


@strawberry.type
class CustomerQuery:
    @strawberry.field(description="The signed-in customer; FORBIDDEN for staff (use `viewer`).")
    async def me(self, info: Info) -> CustomerRef:
        principal = info.context.principal
        if principal.customer_id is None:
            raise Forbidden("`me` is for customer tokens; staff use `viewer`")
        row = await service.get_customer(
            db=info.context.db, principal=principal, customer_id=principal.customer_id
        )
        return CustomerFields.from_row(row)

    @scoped_field(Scope.CUSTOMERS_READ, "One customer in your scope; NOT_FOUND otherwise.")
    async def customer(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A Customer ID.")],
    ) -> CustomerRef | None:
        row = await service.get_customer(
            db=info.context.db,
            principal=info.context.principal,
            customer_id=uuid_of(id, "Customer"),
        )
        return CustomerFields.from_row(row)

    @scoped_field(
        Scope.CUSTOMERS_LIST,
        "Customers in your scope, newest first by default. Marketers lack the scope: they get "
        "counts from analytics, never a list of people.",
    )
    async def customers(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        last: Last = None,
        before: Before = None,
        filter: FilterArg = None,
        order_by: OrderArg = None,
    ) -> Connection[CustomerRef] | None:
        direction = SortDirection(order_by.direction) if order_by else SortDirection.DESC
        page, count = await service.list_customers(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            filter=to_filter(filter),
            order=CustomerOrderField(order_by.field) if order_by else CustomerOrderField.CREATED_AT,
            page=PageArgs(first, after, last, before),
            direction=direction,
        )
        return Connection.build(page, CustomerFields.from_row, count)

    @lookup_field("phone", texts.LOOKUP_MISS)
    async def customer_by_phone(
        self,
        info: Info,
        phone: Annotated[str, strawberry.argument(description=texts.PHONE_LOOKUP)],
        reason: ReasonArg,
    ) -> CustomerRef | None:
        return await _looked_up(info, Lookup(lookup_rule("phone"), phone, reason))

    @lookup_field("idNumber", texts.LOOKUP_MISS)
    async def customer_by_id_number(
        self,
        info: Info,
        id_number: Annotated[str, strawberry.argument(description=texts.ID_NUMBER_LOOKUP)],
        reason: ReasonArg,
    ) -> CustomerRef | None:
        return await _looked_up(info, Lookup(lookup_rule("idNumber"), id_number, reason))

    @lookup_field(
        "name",
        "The exact full name (normalised), narrowed by exactly one of phoneLast4 and "
        "cardLast4 (the last 4 digits the caller reads out); up to `first` namesakes.",
    )
    async def customers_by_name(
        self,
        info: Info,
        name: Annotated[str, strawberry.argument(description=texts.NAME)],
        reason: ReasonArg,
        phone_last4: Annotated[
            str | None, strawberry.argument(description=texts.PHONE_LAST4)
        ] = None,
        card_last4: Annotated[str | None, strawberry.argument(description=texts.CARD_LAST4)] = None,
        first: Annotated[int, strawberry.argument(description=texts.NAMESAKES)] = 5,
    ) -> list[CustomerRef]:
        lookup = NameLookup(lookup_rule("name"), name, reason, phone_last4, card_last4, first)
        rows = await _in_lookup_session(info, customers_by_name, lookup)
        return [CustomerFields.from_row(row) for row in rows]


async def _looked_up(info: Info, lookup: Lookup) -> CustomerFields:
    return CustomerFields.from_row(await _in_lookup_session(info, customer_by_lookup, lookup))


async def _in_lookup_session(info: Info, find: Callable[..., Awaitable[T]], lookup: object) -> T:
    """Runs a lookup service on the request's session held alone: its count, its audit entry
    and its answer are one unit (``resolvers.customers.lookups``)."""
    ctx = info.context
    async with ctx.db.exclusive() as session:
        return await find(
            session=session,
            ring=ctx.key_ring,
            settings=ctx.settings,
            principal=ctx.principal,
            lookup=lookup,
            audit_event=events_by(ctx),
        )


@strawberry.input(description="A card issued with a new customer; it starts ISSUED.")
class CardInput:
    pan: str = strawberry.field(description=texts.PAN)
    product: str = strawberry.field(description=texts.CARD_PRODUCT)
    credit_limit: Decimal = strawberry.field(description=texts.CREDIT_LIMIT)


@strawberry.input(description="A new customer with their consent and cards.")
class CreateCustomerInput:
    name: str = strawberry.field(description=texts.NAME)
    birth_date: date = strawberry.field(description=texts.BIRTH_DATE)
    id_number: str = strawberry.field(description=texts.NEW_ID_NUMBER)
    phone: str = strawberry.field(description=texts.PHONE)
    gender: Gender = strawberry.field(
        default=Gender.UNDISCLOSED, description="The customer's gender, if they state it."
    )
    email: str | None = strawberry.field(default=None, description=texts.EMAIL + " Null: none.")
    address: str | None = strawberry.field(default=None, description=texts.ADDRESS + " Null: none.")
    branch_id: strawberry.ID | None = strawberry.field(default=None, description=texts.BRANCH)
    tier_code: TierCode = strawberry.field(
        default=TierCode.STANDARD, description="The starting tier; evaluation may move it."
    )
    consent: ConsentInput | None = strawberry.field(
        default=None, description="Marketing consent; null: none on any channel, no window."
    )
    cards: list[CardInput] = strawberry.field(
        default_factory=list,
        description="Cards to issue now; a number already registered is a CONFLICT.",
    )
    tags: list[str] = strawberry.field(default_factory=list, description=TAGS_RULE)
    customer_number: str | None = strawberry.field(
        default=None, description=texts.NEW_CUSTOMER_NUMBER
    )

    def to_data(self) -> NewCustomer:
        return NewCustomer(
            name=self.name,
            birth_date=self.birth_date,
            id_number=self.id_number,
            phone=self.phone,
            gender=self.gender.value,
            email=self.email,
            address=self.address,
            branch_id=uuid_of(self.branch_id, "Branch", field="branchId")
            if self.branch_id
            else None,
            tier_code=self.tier_code.value,
            consent=self.consent.to_data() if self.consent else Consent(),
            cards=tuple(NewCard(c.pan, c.product, c.credit_limit) for c in self.cards),
            tags=tuple(self.tags),
            customer_number=self.customer_number,
        )


@strawberry.input(description="Only the fields given change; `version` must be the current one.")
class UpdateCustomerInput:
    id: strawberry.ID = strawberry.field(description="The customer to change (a Customer ID).")
    version: int = strawberry.field(description=texts.VERSION)
    name: str | None = strawberry.field(default=None, description=texts.NAME + texts.UNCHANGED)
    phone: str | None = strawberry.field(default=None, description=texts.PHONE + texts.UNCHANGED)
    email: str | None = strawberry.field(default=None, description=texts.EMAIL + texts.UNCHANGED)
    address: str | None = strawberry.field(
        default=None, description=texts.ADDRESS + texts.UNCHANGED
    )
    consent: ConsentInput | None = strawberry.field(default=None, description=texts.CONSENT_CHANGE)
    tags: list[str] | None = strawberry.field(default=None, description=texts.TAGS_CHANGE)

    def to_changes(self) -> service.CustomerChanges:
        return service.CustomerChanges(
            customer_id=uuid_of(self.id, "Customer"),
            version=self.version,
            name=self.name,
            phone=self.phone,
            email=self.email,
            address=self.address,
            consent=self.consent.to_data() if self.consent else None,
            tags=tuple(self.tags) if self.tags is not None else None,
        )


@strawberry.type(description="What a customer mutation did: the customer, or userErrors.")
class CustomerPayload:
    customer: CustomerRef | None = payload_field(
        "The customer as written; null when there are userErrors."
    )
    user_errors: list[UserError] = payload_field(texts.PAYLOAD_ERRORS, list)

    @classmethod
    def of(cls, row: CustomerRow) -> CustomerPayload:
        return cls(customer=CustomerFields.from_row(row))


@strawberry.input(description="Which clear values of which customer to reveal, and why.")
class RevealCustomerPiiInput:
    customer_id: strawberry.ID = strawberry.field(
        description="The customer, in your scope (a Customer ID)."
    )
    fields: list[PiiField] = strawberry.field(
        description="The values to reveal (at least one); PAN reveals every card's number."
    )
    purpose: str = strawberry.field(description=PURPOSE_RULE)


@strawberry.type(description="One clear value, as revealCustomerPii returns it.")
class RevealedValue:
    field: PiiField = strawberry.field(description="Which value this is.")
    value: str | None = strawberry.field(description="The clear value; null when none is recorded.")
    card_id: strawberry.ID | None = strawberry.field(
        description="For PAN: which card (a Card ID); null for the other fields."
    )


@strawberry.type(description="The revealed values, or userErrors.")
class RevealCustomerPiiPayload:
    values: list[RevealedValue] = payload_field(texts.REVEALED_VALUES, list)
    user_errors: list[UserError] = payload_field(texts.PAYLOAD_ERRORS, list)


def _card_gid(card_id: uuid.UUID | None) -> strawberry.ID | None:
    from schema.relay import to_global_id

    return to_global_id("Card", card_id) if card_id else None


@strawberry.type
class CustomerMutation:
    @scoped_field(Scope.CUSTOMERS_WRITE, texts.CREATE_CUSTOMER, staff_only=True)
    async def create_customer(
        self,
        info: Info,
        input: Annotated[CreateCustomerInput, strawberry.argument(description="The customer.")],
    ) -> CustomerPayload:
        async def write(session: AsyncSession, ctx: Context) -> CustomerRow:
            return await service.create_customer(
                session=session,
                ring=ctx.key_ring,
                settings=ctx.settings,
                principal=ctx.principal,
                data=input.to_data(),
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, CustomerPayload, write, CustomerPayload.of)

    @scoped_field(Scope.CUSTOMERS_WRITE, texts.UPDATE_CUSTOMER, staff_only=True)
    async def update_customer(
        self,
        info: Info,
        input: Annotated[UpdateCustomerInput, strawberry.argument(description="The changes.")],
    ) -> CustomerPayload:
        async def write(session: AsyncSession, ctx: Context) -> CustomerRow:
            return await service.update_customer(
                session=session,
                ring=ctx.key_ring,
                principal=ctx.principal,
                changes=input.to_changes(),
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, CustomerPayload, write, CustomerPayload.of)

    @scoped_field(Scope.PII_REVEAL, texts.REVEAL_CUSTOMER_PII)
    async def reveal_customer_pii(
        self,
        info: Info,
        input: Annotated[RevealCustomerPiiInput, strawberry.argument(description="The reveal.")],
    ) -> RevealCustomerPiiPayload:
        async def write(session: AsyncSession, ctx: Context) -> list[reveal_service.RevealedValue]:
            return await reveal_service.reveal_customer_pii(
                session=session,
                ring=ctx.key_ring,
                settings=ctx.settings,
                principal=ctx.principal,
                customer_id=uuid_of(input.customer_id, "Customer", field="customerId"),
                fields=list(input.fields),
                purpose=input.purpose,
                audit_event=events_by(ctx),
            )

        def done(values: list[reveal_service.RevealedValue]) -> RevealCustomerPiiPayload:
            return RevealCustomerPiiPayload(
                values=[
                    RevealedValue(field=v.field, value=v.value, card_id=_card_gid(v.card_id))
                    for v in values
                ]
            )

        return await mutation_payload(info, RevealCustomerPiiPayload, write, done)
