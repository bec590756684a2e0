"""The customer's privacy requests in the API: the ``PrivacyRequest`` type (an export or an
erasure), ``myPrivacyRequests``, ``requestMyDataExport`` and ``createMyDataExportLink``, each
a thin call into ``resolvers.privacy.requests``. The download itself is plain HTTP
(``api.export_routes``: ``GET /privacy/exports/<token>``)."""

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
from models.privacy.request import PrivacyRequest as PrivacyRequestRow
from models.privacy.request import PrivacyRequestKind, PrivacyRequestStatus
from resolvers.privacy import requests
from schema.common import UserError, mutation_payload, payload_field
from schema.relay import to_global_id, uuid_of
from schema.scope_field import scoped_field

ENUMS: dict[type[Enum], tuple[str, dict[str, str]]] = {
    PrivacyRequestKind: (
        "What a customer asked for under the Personal Information Protection Law.",
        {
            "EXPORT": "A JSON document of everything held about them, downloaded once.",
            "ERASURE": "The erasure of their personal data, once a supervisor approves.",
        },
    ),
    PrivacyRequestStatus: (
        "Where a privacy request stands. An export: pending → ready → downloaded, or "
        "expired when not downloaded in time. An erasure: pending → done, or rejected.",
        {
            "PENDING": "An export waiting for the job; an erasure waiting for approval.",
            "READY": "An export produced; get its download link with createMyDataExportLink.",
            "DOWNLOADED": "An export downloaded (once); its document is gone.",
            "EXPIRED": "An export not downloaded in time; its document is gone.",
            "REJECTED": "An erasure refused, because a legal hold applied.",
            "DONE": "An erasure carried out.",
        },
    ),
}


def _declare_enums() -> None:
    """Registers the two enums with their descriptions, unless declared already elsewhere."""
    for enum, (description, values) in ENUMS.items():
        if has_enum_definition(enum):
            continue
        strawberry.enum(enum, description=description)
        for value in enum.__strawberry_definition__.values:  # type: ignore[attr-defined]
            value.description = values[value.name]


_declare_enums()


@strawberry.type(
    description="One of the customer's privacy requests: a data export or an erasure, and "
    "where it stands."
)
class PrivacyRequest:
    id: strawberry.ID = strawberry.field(
        description="The request's ID (createMyDataExportLink's requestId)."
    )
    kind: PrivacyRequestKind = strawberry.field(description="Export or erasure.")
    status: PrivacyRequestStatus = strawberry.field(description="Where it stands.")
    requested_at: datetime = strawberry.field(description="When the customer asked.")
    completed_at: datetime | None = strawberry.field(
        description="When an export was produced or an erasure carried out; null before."
    )
    expires_at: datetime | None = strawberry.field(
        description="A ready export: when it (or its current download link) runs out; "
        "null otherwise."
    )

    @classmethod
    def from_row(cls, row: PrivacyRequestRow) -> PrivacyRequest:
        return cls(
            id=to_global_id("PrivacyRequest", row.id),
            kind=PrivacyRequestKind(row.kind),
            status=PrivacyRequestStatus(row.status),
            requested_at=row.requested_at,
            completed_at=row.completed_at,
            expires_at=row.expires_at if row.status == PrivacyRequestStatus.READY else None,
        )


@strawberry.type(description="The outcome of requestMyDataExport.")
class RequestMyDataExportPayload:
    request: PrivacyRequest | None = payload_field("The pending export; null on userErrors.")
    user_errors: list[UserError] = payload_field(
        "Why nothing was requested: CONFLICT (an export of yours is still pending or ready), "
        "FORBIDDEN (not a customer).",
        list,
    )

    @classmethod
    def of(cls, row: PrivacyRequestRow) -> RequestMyDataExportPayload:
        return cls(request=PrivacyRequest.from_row(row))


@strawberry.input(description="Which ready export to download.")
class CreateMyDataExportLinkInput:
    request_id: strawberry.ID = strawberry.field(
        description="The export's `id` (from myPrivacyRequests or requestMyDataExport)."
    )


@strawberry.type(description="The outcome of createMyDataExportLink.")
class CreateMyDataExportLinkPayload:
    request: PrivacyRequest | None = payload_field("The export; null on userErrors.")
    url: str | None = payload_field(
        "The download link's path, `/privacy/exports/<token>`, on this API's origin: a GET "
        "answers the JSON document once. Shown only here; null on userErrors."
    )
    expires_at: datetime | None = payload_field(
        "The link works until this instant; null on userErrors."
    )
    user_errors: list[UserError] = payload_field(
        "Why no link was made: NOT_FOUND (not one of your exports), CONFLICT (the export is "
        "still pending, or downloaded or expired), BAD_USER_INPUT (not a PrivacyRequest "
        "ID), FORBIDDEN (not a customer).",
        list,
    )

    @classmethod
    def of(cls, link: requests.ExportLink) -> CreateMyDataExportLinkPayload:
        return cls(
            request=PrivacyRequest.from_row(link.request),
            url=link.url,
            expires_at=link.expires_at,
        )


@strawberry.type
class PrivacyRequestQuery:
    @scoped_field(
        Scope.PRIVACY_READ,
        "The signed-in customer's privacy requests (exports and erasures), newest first. "
        "Customers only: staff get FORBIDDEN.",
    )
    async def my_privacy_requests(self, info: Info) -> list[PrivacyRequest] | None:
        rows = await requests.list_requests(
            db=info.context.db, customer_id=info.context.principal.customer_id
        )
        return [PrivacyRequest.from_row(row) for row in rows]


def _arg(what: str) -> Any:
    return strawberry.argument(description=what)


@strawberry.type
class PrivacyRequestMutation:
    @scoped_field(
        Scope.PRIVACY_WRITE,
        "The customer asks for an export of all data held about them: a job produces a JSON "
        "document, then createMyDataExportLink gives a one-time download link. One export "
        "at a time. Audited, refusals too.",
    )
    async def request_my_data_export(self, info: Info) -> RequestMyDataExportPayload:
        async def write(session: AsyncSession, ctx: Context) -> PrivacyRequestRow:
            return await requests.request_export(
                session=session,
                customer_id=ctx.principal.customer_id,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(
            info, RequestMyDataExportPayload, write, RequestMyDataExportPayload.of
        )

    @scoped_field(
        Scope.PRIVACY_WRITE,
        "A one-time download link for the customer's ready export, valid for a few minutes; "
        "a new link replaces the previous one. Audited, refusals too.",
    )
    async def create_my_data_export_link(
        self,
        info: Info,
        input: Annotated[CreateMyDataExportLinkInput, _arg("The export.")],
    ) -> CreateMyDataExportLinkPayload:
        async def write(session: AsyncSession, ctx: Context) -> requests.ExportLink:
            return await requests.create_export_link(
                session=session,
                settings=ctx.settings,
                customer_id=ctx.principal.customer_id,
                request_id=uuid_of(input.request_id, "PrivacyRequest", field="requestId"),
                audit_event=events_by(ctx),
            )

        return await mutation_payload(
            info, CreateMyDataExportLinkPayload, write, CreateMyDataExportLinkPayload.of
        )
