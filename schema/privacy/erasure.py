"""Erasure in the API (issue 16): ``requestErasure`` (the customer, in the app),
``erasureRequests`` and ``decideErasure`` (supervisors for their branch, admins for all),
each a thin call into ``resolvers.privacy.erasure_requests``."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types.enum import has_enum_definition

from auth.audit import events_by
from core.context import Context, Info
from core.identity import Scope
from models.privacy.request import PrivacyRequest, PrivacyRequestStatus
from resolvers.customers.loaders import CustomerByIdLoader
from resolvers.pagination import PageArgs
from resolvers.privacy import erasure_requests
from resolvers.privacy.legal_holds import LegalHold
from resolvers.privacy.legal_holds_loaders import LegalHoldsByCustomerLoader
from schema.common import UserError, mutation_payload, payload_field
from schema.customers.customer import CustomerFields, CustomerRef
from schema.relay import After, Connection, First, to_global_id, uuid_of
from schema.scope_field import scoped_field

TYPE = "ErasureRequest"

if not has_enum_definition(LegalHold):
    strawberry.enum(
        LegalHold,
        description="Why a customer cannot be erased now (a legal hold).",
    )
    for _value in LegalHold.__strawberry_definition__.values:  # type: ignore[attr-defined]
        _value.description = {
            "OPEN_BALANCE": "A card not closed, or one not settled (days past due, or a "
            "balance other than zero: owed by the customer, or a credit owed to them).",
            "OPEN_DISPUTE": "A complaint not resolved or closed, an open or escalated risk "
            "alert, or a collection case not closed.",
            "RETENTION_PERIOD": "The relationship (last card closed, last transaction) ended "
            "less than the retention period ago, or has not ended.",
        }[_value.name]


@strawberry.enum(description="Where an erasure request stands: pending → done or rejected.")
class ErasureStatus(Enum):
    PENDING = strawberry.enum_value(
        PrivacyRequestStatus.PENDING.value, description="Waiting for a supervisor's decision."
    )
    DONE = strawberry.enum_value(
        PrivacyRequestStatus.DONE.value,
        description="Approved and carried out: the customer is a tombstone.",
    )
    REJECTED = strawberry.enum_value(
        PrivacyRequestStatus.REJECTED.value,
        description="Refused, with the legal holds that applied (`holdsAtDecision`).",
    )


@strawberry.type(description="A customer's request to be erased, and its decision.")
class ErasureRequest:
    """Not a Relay Node: read through ``erasureRequests`` and the mutations only."""

    id: strawberry.ID = strawberry.field(description="The request's ID (decideErasure's).")
    requested_at: datetime = strawberry.field(description="When the customer asked.")
    status: ErasureStatus = strawberry.field(description="Where the request stands.")
    decided_at: datetime | None = strawberry.field(description="When it was decided; null: not.")
    holds_at_decision: list[LegalHold] = strawberry.field(
        description="The legal holds that applied when it was decided (empty when approved "
        "or still pending)."
    )
    version: int = strawberry.field(description="Pass it as decideErasure's expectedVersion.")
    _row: strawberry.Private[PrivacyRequest]

    @strawberry.field(description="The customer who asked (a tombstone once erased).")
    async def customer(self, info: Info) -> CustomerRef:
        row = await info.context.loader(CustomerByIdLoader).load(self._row.customer_id)
        assert row is not None
        return CustomerFields.from_row(row)

    @strawberry.field(
        description="The legal holds that apply now (empty: the request may be approved)."
    )
    async def legal_holds(self, info: Info) -> list[LegalHold]:
        codes = await info.context.loader(LegalHoldsByCustomerLoader).load(self._row.customer_id)
        return [LegalHold(code) for code in codes]

    @classmethod
    def from_row(cls, row: PrivacyRequest) -> ErasureRequest:
        return cls(
            id=to_global_id(TYPE, row.id),
            requested_at=row.requested_at,
            status=ErasureStatus(row.status),
            decided_at=row.decided_at,
            holds_at_decision=[LegalHold(code) for code in row.legal_holds],
            version=row.version,
            _row=row,
        )


@strawberry.type(description="The outcome of requestErasure or decideErasure.")
class ErasureRequestPayload:
    erasure_request: ErasureRequest | None = payload_field("The request; null on errors.")
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, row: PrivacyRequest) -> ErasureRequestPayload:
        return cls(erasure_request=ErasureRequest.from_row(row))


def _arg(what: str) -> Any:
    return strawberry.argument(description=what)


@strawberry.type
class ErasureQuery:
    @scoped_field(
        Scope.PRIVACY_READ,
        "Erasure requests, newest first: a supervisor's branch's customers', "
        "every branch's for admins and auditors.",
        staff_only=True,
    )
    async def erasure_requests(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        status: Annotated[ErasureStatus | None, _arg("Only this status; null: every one.")] = None,
    ) -> Connection[ErasureRequest] | None:
        page, count = await erasure_requests.list_erasure_requests(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            status=PrivacyRequestStatus(status.name.lower()) if status is not None else None,
            page=PageArgs(first, after),
        )
        return Connection.build(page, ErasureRequest.from_row, count)


@strawberry.type
class ErasureMutation:
    @scoped_field(
        Scope.PRIVACY_WRITE,
        "The signed-in customer asks to be erased; a supervisor decides. One pending request "
        "at a time (another: CONFLICT); audited. Customers only: staff get FORBIDDEN."
        " userErrors: FORBIDDEN, CONFLICT, CUSTOMER_ERASED.",
    )
    async def request_erasure(self, info: Info) -> ErasureRequestPayload:
        async def write(session: AsyncSession, ctx: Context) -> PrivacyRequest:
            return await erasure_requests.request_erasure(
                session=session,
                customer_id=ctx.principal.customer_id,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, ErasureRequestPayload, write, ErasureRequestPayload.of)

    @scoped_field(
        Scope.PRIVACY_WRITE,
        "A supervisor (their branch's customers; admins any) approves or rejects a pending "
        "erasure request at its version. Approving erases the customer: every sealed value "
        "and lookup index gone, their own key destroyed, consent withdrawn, a tombstone left; "
        "transactions, statements and aggregates kept. Approving while legal holds apply is "
        "refused (LEGAL_HOLD, naming them); rejecting records them. Audited."
        " userErrors: FORBIDDEN, NOT_FOUND, CONFLICT, LEGAL_HOLD, BAD_USER_INPUT.",
        staff_only=True,
    )
    async def decide_erasure(
        self,
        info: Info,
        request_id: Annotated[strawberry.ID, _arg("The ErasureRequest's `id`.")],
        approve: Annotated[bool, _arg("true: erase the customer; false: reject the request.")],
        expected_version: Annotated[int, _arg("The request's `version` as you read it.")],
    ) -> ErasureRequestPayload:
        async def write(session: AsyncSession, ctx: Context) -> PrivacyRequest:
            return await erasure_requests.decide_erasure(
                session=session,
                ring=ctx.key_ring,
                principal=ctx.principal,
                request_id=uuid_of(request_id, TYPE, field="requestId"),
                approve=approve,
                expected_version=expected_version,
                retention_years=ctx.settings.privacy_retention_years,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, ErasureRequestPayload, write, ErasureRequestPayload.of)
