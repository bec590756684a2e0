"""The Campaign type and its results, as ``campaigns``, ``campaign`` and the campaign
mutations answer them (schema/outreach/campaign_operations.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from core.context import Info
from models.outreach.campaign import Campaign as CampaignRow
from models.outreach.campaign import CampaignGoal, CampaignStatus
from resolvers.outreach.campaign_terms import CampaignChannel
from resolvers.outreach.results import CampaignResults as ResultsData
from resolvers.outreach.results import CampaignResultsByIdLoader, Rate
from schema.policy_field import sensitive_field
from schema.relay import Node, to_global_id


@strawberry.type(description="A group's goal: how many of it reached the goal, and the share.")
class GoalRate:
    size: int = strawberry.field(description="How many customers the group holds.")
    reached: int = strawberry.field(description="How many of them reached the goal.")
    rate: float | None = strawberry.field(
        description="The share: reached / size; null for an empty group."
    )

    @classmethod
    def of(cls, rate: Rate) -> GoalRate:
        return cls(size=rate.size, reached=rate.reached, rate=rate.rate)


@strawberry.type(
    description="Treatment rate minus control rate, with its 95 % confidence interval (Wald "
    "interval for the difference of two proportions)."
)
class Lift:
    value: float = strawberry.field(description="The difference of the two rates.")
    low: float = strawberry.field(description="The interval's lower bound.")
    high: float = strawberry.field(description="The interval's upper bound.")


@strawberry.type(description="What a launched campaign reached and what came of it.")
class CampaignResults:
    """Every field reads one loader per request, so the results are counted once however
    many of them are selected."""

    _campaign_id: strawberry.Private[uuid.UUID]

    async def _data(self, info: Info) -> ResultsData:
        data = await info.context.loader(CampaignResultsByIdLoader).load(self._campaign_id)
        assert data is not None  # ``Campaign.results`` is null before the launch
        return data

    @strawberry.field(description="Customers of the segment at launch.")
    async def audience(self, info: Info) -> int:
        return (await self._data(info)).audience

    @strawberry.field(description="Held out as the control group.")
    async def control(self, info: Info) -> int:
        return (await self._data(info)).control

    @strawberry.field(description="Sent a message (consenting, not held out).")
    async def messaged(self, info: Info) -> int:
        return (await self._data(info)).messaged

    @strawberry.field(description="Not held out, but not consenting to the channel.")
    async def no_consent(self, info: Info) -> int:
        return (await self._data(info)).no_consent

    @strawberry.field(description="Messages the sender delivered so far.")
    async def delivered(self, info: Info) -> int:
        return (await self._data(info)).delivered

    @strawberry.field(description="The goal among the messaged (the treatment group).")
    async def treatment(self, info: Info) -> GoalRate:
        return GoalRate.of((await self._data(info)).treatment_goal)

    @strawberry.field(description="The goal among the control group.")
    async def control_group(self, info: Info) -> GoalRate:
        return GoalRate.of((await self._data(info)).control_goal)

    @strawberry.field(
        description="The lift: treatment.rate − controlGroup.rate with its 95 % interval; "
        "null while either group is empty."
    )
    async def lift(self, info: Info) -> Lift | None:
        found = (await self._data(info)).lift
        return Lift(value=found.value, low=found.low, high=found.high) if found else None


@strawberry.type(description="A campaign (营销活动): a message to a saved segment, measured.")
class Campaign(Node):
    name: str = strawberry.field(description="Unique across the bank.")
    description: str = strawberry.field(description="What it is for; may be empty.")
    segment_id: strawberry.ID = strawberry.field(description="The saved segment it targets.")
    channel: CampaignChannel = strawberry.field(description="How it reaches customers.")
    template: str = strawberry.field(
        description="The message, with {placeholders} filled at send time."
    )
    offer_id: strawberry.ID | None = strawberry.field(description="The offer it promotes.")
    goal: CampaignGoal = strawberry.field(description="What it is measured by.")
    goal_window_days: int = strawberry.field(description="Days after launch the goal counts.")
    goal_spend_cents: int | None = strawberry.field(description="A SPEND goal's threshold.")
    control_percent: int = strawberry.field(description="The held-out share, 0–50 %.")
    with_survey: bool = strawberry.field(description="Whether a survey goes with each message.")
    scheduled_at: datetime | None = strawberry.field(description="When it launches itself.")
    status: CampaignStatus = strawberry.field(description="Where it stands.")
    launched_at: datetime | None = strawberry.field(description="When it launched.")
    version: int = strawberry.field(description="Pass it back to change, cancel or launch it.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    _row: strawberry.Private[CampaignRow]

    @classmethod
    def from_row(cls, row: CampaignRow) -> Campaign:
        return cls(
            id=to_global_id("Campaign", row.id),
            name=row.name,
            description=row.description,
            segment_id=to_global_id("SavedSegment", row.segment_id),
            channel=CampaignChannel(row.channel),
            template=row.template,
            offer_id=to_global_id("Offer", row.offer_id) if row.offer_id else None,
            goal=CampaignGoal(row.goal),
            goal_window_days=row.goal_window_days,
            goal_spend_cents=row.goal_spend_cents,
            control_percent=row.control_percent,
            with_survey=row.with_survey,
            scheduled_at=row.scheduled_at,
            status=CampaignStatus(row.status),
            launched_at=row.launched_at,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            _row=row,
        )

    @sensitive_field("Campaign", "results")
    def results(self) -> CampaignResults | None:
        """Null before the launch, without a query."""
        if self._row.launched_at is None:
            return None
        return CampaignResults(_campaign_id=self._row.id)
