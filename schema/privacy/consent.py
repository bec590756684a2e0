"""Consent in the API: ``myConsents`` and ``updateMyConsent`` (the customer in the app), each a
thin call into ``resolvers.privacy.consent``, and the ``ConsentChange`` type that staff read
through ``Customer.consentHistory`` (``schema.privacy.consent_customer_fields``)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum, StrEnum
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core.context import Context, Info
from core.errors import BadUserInput
from core.identity import Scope
from models.customers.customer import Customer as CustomerRow
from models.privacy.consent import ConsentChange as ConsentChangeRow
from models.privacy.consent import ConsentSource
from resolvers.privacy import consent
from resolvers.privacy.consent_history import (
    CHANNELS,
    MAX_HISTORY,
    ConsentHistoryByCustomerLoader,
    ConsentSinceByCustomerLoader,
)
from schema.common import UserError, mutation_payload, payload_field
from schema.described import optional_field
from schema.scope_field import scoped_field

HISTORY_ARG = f"The most changes to list, newest first: 1 to {MAX_HISTORY}."
TIME = "24-hour HH:MM in the contact time zone (CARDCRM_CONTACT_TIMEZONE, default Asia/Shanghai)"
UNCHANGED = " Left out: unchanged."


def _described(enum: type[Enum], description: str, values: dict[str, str]) -> None:
    """Declares ``enum`` for GraphQL with a description for it and each of its values."""
    strawberry.enum(enum, description=description)
    for value in enum.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = values[value.name]


class ConsentChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"
    PHONE = "phone"


_described(
    ConsentChannel,
    "A channel the bank may use for marketing, each with the customer's own consent.",
    {
        "SMS": "Text messages.",
        "EMAIL": "E-mail.",
        "PUSH": "Push notifications in the app.",
        "PHONE": "Phone calls.",
    },
)
_described(
    ConsentSource,
    "Where a change of consent came from.",
    {
        "APP": "The customer, in the app (updateMyConsent).",
        "STAFF": "Staff, on the customer's word (updateCustomer).",
        "ONBOARDING": "Given when the customer was created or imported.",
        "RETENTION": "Withdrawn by erasure or the retention job.",
    },
)


@strawberry.type(description="One change of one channel's consent.")
class ConsentChange:
    channel: ConsentChannel = strawberry.field(description="The channel that changed.")
    granted: bool = strawberry.field(description="True: consent given; false: withdrawn.")
    source: ConsentSource = strawberry.field(description="Where the change came from.")
    changed_at: datetime = strawberry.field(description="When it changed (ISO 8601, UTC).")

    @classmethod
    def from_row(cls, row: ConsentChangeRow) -> ConsentChange:
        return cls(
            channel=ConsentChannel(row.channel),
            granted=row.granted,
            source=ConsentSource(row.source),
            changed_at=row.changed_at,
        )


@strawberry.type(description="One channel's consent as it stands.")
class ChannelConsent:
    channel: ConsentChannel = strawberry.field(description="The channel.")
    granted: bool = strawberry.field(description="Whether the customer agrees to it now.")
    since: datetime = strawberry.field(
        description="Since when: its last change, or the customer's creation if it never changed."
    )


HistoryArg = Annotated[int, strawberry.argument(description=HISTORY_ARG)]


async def consent_history(info: Info, customer_id: Any, first: int) -> list[ConsentChange]:
    """The customer's newest ``first`` changes, through the request's loader."""
    if not 1 <= first <= MAX_HISTORY:
        raise BadUserInput(f"first must be between 1 and {MAX_HISTORY}", field="first")
    rows = await info.context.loader(ConsentHistoryByCustomerLoader).load((customer_id, first))
    return [ConsentChange.from_row(row) for row in rows]


@strawberry.type(description="The signed-in customer's marketing consent and its history.")
class MyConsents:
    version: int = strawberry.field(
        description="The customer record's version: give it back as updateMyConsent's "
        "`expectedVersion` to refuse a change made meanwhile elsewhere (CONFLICT)."
    )
    do_not_disturb_start: str | None = strawberry.field(
        description=f"Start of the daily do-not-disturb window, {TIME}; null: none."
    )
    do_not_disturb_end: str | None = strawberry.field(
        description="End of the window (exclusive), HH:MM; it applies only when both ends are "
        "set, and 22:00 to 08:00 wraps midnight. Null: none."
    )
    preferred_channel: str | None = strawberry.field(
        description="The channel the customer prefers, as entered (informational); null: none."
    )
    _row: strawberry.Private[CustomerRow]

    @strawberry.field(
        description="Each channel's consent now, in the order sms, email, push, phone."
    )
    async def channels(self, info: Info) -> list[ChannelConsent]:
        changed = await info.context.loader(ConsentSinceByCustomerLoader).load(self._row.id)
        return [
            ChannelConsent(
                channel=ConsentChannel(channel),
                granted=bool(getattr(self._row, f"consent_{channel}")),
                since=changed.get(channel, self._row.created_at),
            )
            for channel in CHANNELS
        ]

    @strawberry.field(description="Every change of a channel's consent, newest first.")
    async def history(self, info: Info, first: HistoryArg = 20) -> list[ConsentChange]:
        return await consent_history(info, self._row.id, first)

    @classmethod
    def from_row(cls, row: CustomerRow) -> MyConsents:
        return cls(
            version=row.version,
            do_not_disturb_start=row.do_not_disturb_start,
            do_not_disturb_end=row.do_not_disturb_end,
            preferred_channel=row.preferred_channel,
            _row=row,
        )


def _changed(description: str) -> Any:
    """A field left out (UNSET) keeps the customer's value."""
    return strawberry.field(default=strawberry.UNSET, description=description + UNCHANGED)


@strawberry.input(description="The customer's change of their own consent; what is left out stays.")
class UpdateMyConsentInput:
    sms: bool | None = _changed("Marketing by SMS: true gives consent, false withdraws it.")
    email: bool | None = _changed("Marketing by e-mail: true gives consent, false withdraws it.")
    push: bool | None = _changed("Push notifications: true gives consent, false withdraws it.")
    phone: bool | None = _changed("Phone calls: true gives consent, false withdraws it.")
    do_not_disturb_start: str | None = _changed(
        f"Start of the do-not-disturb window, {TIME}; null: no window."
    )
    do_not_disturb_end: str | None = _changed("End of the window, HH:MM; null: no window.")
    preferred_channel: str | None = _changed(
        "The channel preferred (e.g. `sms`, at most 16 characters); null: none."
    )
    expected_version: int | None = optional_field(
        "MyConsents' `version` as last read: a change made since is a CONFLICT and nothing is "
        "written. Null: apply to the current version."
    )

    def to_update(self) -> consent.ConsentUpdate:
        channels = {c: getattr(self, c) for c in CHANNELS if getattr(self, c) not in _LEFT_OUT}
        texts = {
            name: getattr(self, name)
            for name in ("do_not_disturb_start", "do_not_disturb_end", "preferred_channel")
            if getattr(self, name) is not strawberry.UNSET
        }
        return consent.ConsentUpdate(channels, texts, self.expected_version)


_LEFT_OUT = (None, strawberry.UNSET)


@strawberry.type(description="The outcome of updateMyConsent.")
class UpdateMyConsentPayload:
    consents: MyConsents | None = payload_field("The consent after the change; null on errors.")
    user_errors: list[UserError] = payload_field(
        "Why nothing was written: BAD_USER_INPUT (a time not HH:MM, a preferred channel too "
        "long), CONFLICT (a stale expectedVersion), FORBIDDEN (not a customer).",
        list,
    )

    @classmethod
    def of(cls, row: CustomerRow) -> UpdateMyConsentPayload:
        return cls(consents=MyConsents.from_row(row))


@strawberry.type
class ConsentQuery:
    @scoped_field(
        Scope.PRIVACY_READ,
        "The signed-in customer's consent per channel (since when), do-not-disturb window, "
        "preferred channel and history. Customers only: staff get FORBIDDEN (and read a "
        "customer's through `Customer.consentHistory`).",
    )
    async def my_consents(self, info: Info) -> MyConsents | None:
        row = await consent.my_consents(db=info.context.db, principal=info.context.principal)
        return MyConsents.from_row(row)


@strawberry.type
class ConsentMutation:
    @scoped_field(
        Scope.PRIVACY_WRITE,
        "The customer gives or withdraws consent per channel, or sets the do-not-disturb "
        "window and preferred channel: each channel that changes is kept in the history "
        "(source APP); audited, and the event customer.consent_changed goes out. A change "
        "that changes nothing writes nothing. Customers only: staff get FORBIDDEN.",
    )
    async def update_my_consent(
        self,
        info: Info,
        input: Annotated[UpdateMyConsentInput, strawberry.argument(description="The change.")],
    ) -> UpdateMyConsentPayload:
        async def write(session: AsyncSession, ctx: Context) -> CustomerRow:
            return await consent.update_my_consent(
                session=session,
                principal=ctx.principal,
                change=input.to_update(),
                audit_event=events_by(ctx),
            )

        return await mutation_payload(
            info, UpdateMyConsentPayload, write, UpdateMyConsentPayload.of
        )
