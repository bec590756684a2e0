"""The customer's own part of the Customer type, and its inputs (thin: each field calls
resolvers/).

The GraphQL type Customer is assembled in ``schema.graph`` from this part and the fields other
domains add to it (``schema/<domain>/customer_fields.py``: tier and evaluation figures, offers,
cards, complaints and interactions), so this module imports none of them. Everything that
returns a customer builds a ``CustomerFields`` and declares the assembled type lazily, as
``CustomerRef``; the assembled type takes these instances (see ``CustomerFields.is_type_of``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from auth.policy import PiiField, revealable_fields
from core.context import Info
from models.customers.customer import Customer as CustomerRow
from models.customers.customer import Gender, LifecycleStage, RiskGrade
from resolvers.customers.input import TAGS_RULE
from resolvers.customers.input import Consent as ConsentData
from resolvers.organisation.loaders import BranchByIdLoader
from schema.customers import texts
from schema.organisation.organisation import Branch
from schema.policy_field import sealed_field, sensitive_field
from schema.relay import Node, to_global_id


@strawberry.type(description="Marketing consent per channel and the do-not-disturb window.")
class Consent:
    sms: bool = strawberry.field(description=texts.SMS)
    email: bool = strawberry.field(description=texts.EMAIL_CONSENT)
    push: bool = strawberry.field(description=texts.PUSH)
    phone: bool = strawberry.field(description=texts.PHONE_CONSENT)
    do_not_disturb_start: str | None = strawberry.field(
        description=texts.DND_START + " Null: none."
    )
    do_not_disturb_end: str | None = strawberry.field(description=texts.DND_END + " Null: none.")
    preferred_channel: str | None = strawberry.field(description=texts.PREFERRED + " Null: none.")


@strawberry.type(name="Customer", description=texts.CUSTOMER)
class CustomerFields(Node):
    """The customer's own fields. Named Customer too: an instance resolves, as a ``Node``, to
    the assembled type of that name."""

    gender: Gender = strawberry.field(description="The gender given when the customer was created.")
    lifecycle_stage: LifecycleStage = strawberry.field(
        description="The lifecycle stage the last evaluation set (NEW until the first one)."
    )
    consent: Consent = strawberry.field(description="What marketing the customer agreed to.")
    tags: list[str] = strawberry.field(description=TAGS_RULE)
    segments: list[str] = strawberry.field(description=texts.SEGMENTS)
    version: int = strawberry.field(description=texts.VERSION_FIELD)
    created_at: datetime = strawberry.field(
        description="When the customer was created (ISO 8601, UTC)."
    )
    updated_at: datetime = strawberry.field(
        description="When the record last changed, by staff or evaluation (ISO 8601, UTC)."
    )
    _row: strawberry.Private[CustomerRow]

    name = sealed_field("Customer", "name", "name")

    birth_date = sealed_field("Customer", "birthDate", "birth_date")

    id_number = sealed_field("Customer", "idNumber", "id_number")

    phone = sealed_field("Customer", "phone", "phone")

    email = sealed_field("Customer", "email", "email")

    address = sealed_field("Customer", "address", "address")

    customer_number = sealed_field("Customer", "customerNumber", "customer_number")

    @sensitive_field("Customer", "riskGrade")
    def risk_grade(self) -> RiskGrade | None:
        return RiskGrade(self._row.risk_grade)

    @sensitive_field("Customer", "creditScore")
    def credit_score(self) -> int | None:
        return self._row.credit_score

    @strawberry.field(description="The customer's branch.")
    async def branch(self, info: Info) -> Branch:
        row = await info.context.loader(BranchByIdLoader).load(self._row.branch_id)
        assert row is not None
        return Branch.from_row(row)

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        """The assembled Customer takes instances of this part (they carry every field's
        data: the contributed fields read ``_row``)."""
        return isinstance(obj, CustomerFields)

    @classmethod
    def from_row(cls, row: CustomerRow) -> CustomerFields:
        return cls(
            id=to_global_id("Customer", row.id),
            gender=Gender(row.gender),
            lifecycle_stage=LifecycleStage(row.lifecycle_stage),
            consent=Consent(
                sms=row.consent_sms,
                email=row.consent_email,
                push=row.consent_push,
                phone=row.consent_phone,
                do_not_disturb_start=row.do_not_disturb_start,
                do_not_disturb_end=row.do_not_disturb_end,
                preferred_channel=row.preferred_channel,
            ),
            tags=list(row.tags),
            segments=list(row.segments),
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            _row=row,
        )


if TYPE_CHECKING:
    # What mypy sees; at run time the name is left undefined here, so strawberry resolves it
    # through the lazy reference to the assembled type.
    Customer = CustomerFields

CustomerRef = Annotated["Customer", strawberry.lazy("schema.graph")]
"""The assembled Customer type, as a field's or a root field's annotation."""


@strawberry.type
class CustomerDisclosureFields:
    """The last field of Customer (the assembly lists this part last, which keeps the
    schema's field order)."""

    _row: strawberry.Private[CustomerRow]

    @strawberry.field(description="The PII fields the caller may reveal on this customer.")
    def revealable_fields(self, info: Info) -> list[PiiField]:
        return revealable_fields(info.context.principal)


@strawberry.input(
    description="Consent per channel and the do-not-disturb window; a channel left out is false."
)
class ConsentInput:
    sms: bool = strawberry.field(default=False, description=texts.SMS)
    email: bool = strawberry.field(default=False, description=texts.EMAIL_CONSENT)
    push: bool = strawberry.field(default=False, description=texts.PUSH)
    phone: bool = strawberry.field(default=False, description=texts.PHONE_CONSENT)
    do_not_disturb_start: str | None = strawberry.field(
        default=None, description=texts.DND_START + " Null: no window."
    )
    do_not_disturb_end: str | None = strawberry.field(
        default=None, description=texts.DND_END + " Null: no window."
    )
    preferred_channel: str | None = strawberry.field(
        default=None, description=texts.PREFERRED + " Null: none."
    )

    def to_data(self) -> ConsentData:
        return ConsentData(
            sms=self.sms,
            email=self.email,
            push=self.push,
            phone=self.phone,
            do_not_disturb_start=self.do_not_disturb_start,
            do_not_disturb_end=self.do_not_disturb_end,
            preferred_channel=self.preferred_channel,
        )
