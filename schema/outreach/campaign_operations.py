"""Campaign root fields: ``campaigns`` and ``campaign`` (``campaigns:read``: marketers,
supervisors, auditors, admins) and ``createCampaign``, ``updateCampaign``, ``cancelCampaign``,
``launchCampaign`` (``campaigns:write``: marketers, admins), each a thin call into
``resolvers.outreach``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import events_by
from core.context import Context, Info
from core.identity import Scope
from models.outreach.campaign import Campaign as CampaignRow
from models.outreach.campaign import CampaignGoal, CampaignStatus
from resolvers.outreach import campaigns
from resolvers.outreach.campaign_terms import CampaignChannel, CampaignTerms
from resolvers.outreach.launch import Launched, launch_campaign
from resolvers.pagination import PageArgs
from schema.common import UserError, mutation_payload, payload_field
from schema.described import optional_field
from schema.outreach.campaign import Campaign
from schema.relay import After, Connection, First, uuid_of
from schema.scope_field import scoped_field

VERSION = "The campaign's `version` you last read; CONFLICT if it has changed since."
ERRORS = (
    " userErrors: NOT_FOUND (campaign, segment, offer), CONFLICT (stale version, already "
    "launched or cancelled, a name taken), BAD_USER_INPUT (naming the field or placeholder), "
    "FORBIDDEN."
)
PLACEHOLDERS = (
    "The message, at most 1,000 characters, no personal data; placeholders {name} "
    "{address} {birthDate} {points} {riskGrade} {tier} {offer} are filled at send time as "
    "the launching staff member may see each field (masked where they see it masked); one "
    "they may not see at all is BAD_USER_INPUT."
)


@strawberry.input(description="A new campaign: a draft, or scheduled when scheduledAt is set.")
class CreateCampaignInput:
    name: str = strawberry.field(description="At most 200 characters, unique; no personal data.")
    segment: str = strawberry.field(description="The saved segment's name (its audience).")
    channel: CampaignChannel = strawberry.field(description="How it reaches customers.")
    template: str = strawberry.field(description=PLACEHOLDERS)
    goal: CampaignGoal = strawberry.field(description="OFFER_ACCEPTANCE needs offerId.")
    description: str | None = optional_field("What it is for, at most 2,000 characters.")
    offer_id: strawberry.ID | None = optional_field("An offer it promotes ({offer}).")
    goal_window_days: int | None = optional_field("1–365 days after launch; 30 by default.")
    goal_spend_cents: int | None = optional_field("A SPEND goal's threshold, in cents.")
    control_percent: int | None = optional_field("The held-out share, 0–50; 10 by default.")
    with_survey: bool | None = optional_field("Send a satisfaction survey with each message.")
    scheduled_at: datetime | None = optional_field("Launch then (in the future), by the batch.")


@strawberry.input(description="Changes to a draft or scheduled campaign; omitted fields stay.")
class UpdateCampaignInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign's `id`.")
    version: int = strawberry.field(description=VERSION)
    name: str | None = optional_field("A new name.")
    segment: str | None = optional_field("Another saved segment, by name.")
    channel: CampaignChannel | None = optional_field("Another channel.")
    template: str | None = optional_field(PLACEHOLDERS)
    goal: CampaignGoal | None = optional_field("Another goal.")
    description: str | None = optional_field("A new description.")
    offer_id: strawberry.ID | None = optional_field("Another offer.")
    goal_window_days: int | None = optional_field("1–365 days.")
    goal_spend_cents: int | None = optional_field("A SPEND goal's threshold, in cents.")
    control_percent: int | None = optional_field("0–50.")
    with_survey: bool | None = optional_field("Send a survey with each message.")
    scheduled_at: datetime | None = optional_field("Schedule it (in the future).")


@strawberry.input(description="A campaign to cancel or launch, at the version you last read.")
class CampaignVersionInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign's `id`.")
    version: int = strawberry.field(description=VERSION)


@strawberry.type(description="The outcome of a campaign mutation.")
class CampaignPayload:
    campaign: Campaign | None = payload_field("The campaign as it is now; null on userErrors.")
    user_errors: list[UserError] = payload_field("Why nothing was written; empty on success.", list)

    @classmethod
    def of(cls, row: CampaignRow) -> CampaignPayload:
        return cls(campaign=Campaign.from_row(row))


@strawberry.type(description="The outcome of launchCampaign.")
class LaunchCampaignPayload:
    campaign: Campaign | None = payload_field("The launched campaign; null on userErrors.")
    audience: int = payload_field("Customers of the segment now.", int)
    control: int = payload_field("Held out as the control group.", int)
    messaged: int = payload_field("Queued a message (consenting).", int)
    no_consent: int = payload_field("Not consenting to the channel.", int)
    delayed: int = payload_field("Messages held until a do-not-disturb window ends.", int)
    user_errors: list[UserError] = payload_field("Why nothing was launched.", list)

    @classmethod
    def of(cls, done: Launched) -> LaunchCampaignPayload:
        return cls(
            campaign=Campaign.from_row(done.campaign),
            audience=done.audience,
            control=done.control,
            messaged=done.messaged,
            no_consent=done.no_consent,
            delayed=done.delayed,
        )


def _terms(source: Any) -> CampaignTerms:
    offer = source.offer_id
    return CampaignTerms(
        name=source.name,
        description=source.description,
        segment=source.segment,
        channel=source.channel,
        template=source.template,
        offer_id=uuid_of(offer, "Offer", field="offerId") if offer is not None else None,
        goal=source.goal,
        goal_window_days=source.goal_window_days,
        goal_spend_cents=source.goal_spend_cents,
        control_percent=source.control_percent,
        with_survey=source.with_survey,
        scheduled_at=source.scheduled_at,
    )


def _arg(what: str) -> Any:
    return strawberry.argument(description=what)


@strawberry.type
class CampaignQuery:
    @scoped_field(Scope.CAMPAIGNS_READ, "Campaigns, newest first.", staff_only=True)
    async def campaigns(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        status: Annotated[CampaignStatus | None, _arg("Only campaigns in this status.")] = None,
    ) -> Connection[Campaign] | None:
        page, count = await campaigns.list_campaigns(
            db=info.context.db,
            settings=info.context.settings,
            status=status,
            page=PageArgs(first, after),
        )
        return Connection.build(page, Campaign.from_row, count)

    @scoped_field(Scope.CAMPAIGNS_READ, "One campaign by its ID.", staff_only=True)
    async def campaign(
        self, info: Info, id: Annotated[strawberry.ID, _arg("The campaign's `id`.")]
    ) -> Campaign | None:
        row = await campaigns.get_campaign(
            db=info.context.db, campaign_id=uuid_of(id, "Campaign", field="id")
        )
        return Campaign.from_row(row)


@strawberry.type
class CampaignMutation:
    @scoped_field(Scope.CAMPAIGNS_WRITE, "Creates a campaign; audited." + ERRORS, staff_only=True)
    async def create_campaign(
        self, info: Info, input: Annotated[CreateCampaignInput, _arg("The campaign.")]
    ) -> CampaignPayload:
        async def write(session: AsyncSession, ctx: Context) -> CampaignRow:
            return await campaigns.create_campaign(
                session=session,
                principal=ctx.principal,
                terms=_terms(input),
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, CampaignPayload, write, CampaignPayload.of)

    @scoped_field(
        Scope.CAMPAIGNS_WRITE,
        "Changes a draft or scheduled campaign, checking its version; audited." + ERRORS,
        staff_only=True,
    )
    async def update_campaign(
        self, info: Info, input: Annotated[UpdateCampaignInput, _arg("The changes.")]
    ) -> CampaignPayload:
        async def write(session: AsyncSession, ctx: Context) -> CampaignRow:
            return await campaigns.update_campaign(
                session=session,
                principal=ctx.principal,
                campaign_id=uuid_of(input.campaign_id, "Campaign", field="campaignId"),
                version=input.version,
                terms=_terms(input),
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, CampaignPayload, write, CampaignPayload.of)

    @scoped_field(
        Scope.CAMPAIGNS_WRITE,
        "Cancels a draft or scheduled campaign; audited." + ERRORS,
        staff_only=True,
    )
    async def cancel_campaign(
        self, info: Info, input: Annotated[CampaignVersionInput, _arg("The campaign.")]
    ) -> CampaignPayload:
        async def write(session: AsyncSession, ctx: Context) -> CampaignRow:
            return await campaigns.cancel_campaign(
                session=session,
                campaign_id=uuid_of(input.campaign_id, "Campaign", field="campaignId"),
                version=input.version,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, CampaignPayload, write, CampaignPayload.of)

    @scoped_field(
        Scope.CAMPAIGNS_WRITE,
        "Launches a draft or scheduled campaign now, once: one recipient per customer of its "
        "segment, a deterministic control group, a queued message per consenting customer "
        "(after their do-not-disturb window); audited." + ERRORS,
        staff_only=True,
    )
    async def launch_campaign(
        self, info: Info, input: Annotated[CampaignVersionInput, _arg("The campaign.")]
    ) -> LaunchCampaignPayload:
        async def write(session: AsyncSession, ctx: Context) -> Launched:
            return await launch_campaign(
                session=session,
                principal=ctx.principal,
                campaign_id=uuid_of(input.campaign_id, "Campaign", field="campaignId"),
                version=input.version,
                settings=ctx.settings,
                audit_event=events_by(ctx),
            )

        return await mutation_payload(info, LaunchCampaignPayload, write, LaunchCampaignPayload.of)
