"""The GraphQL schema: each domain module contributes its types and root fields; this module
composes Query and Mutation (Customer, whose fields come from several domains, is assembled
in ``schema.graph``). The roof builds the strawberry Schema from them with its extensions
(``api.graphql_schema``), so nothing here imports ``api``."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlmodel import col, select
from strawberry.tools import merge_types
from strawberry.types.base import get_object_definition

from core.context import Info
from core.errors import NotFound
from core.identity import Principal, Scope
from models.audit.audit import AuditEntry as AuditEntryRow
from models.cards.card import Card as CardRow
from models.customers.customer import Customer as CustomerRow
from models.growth.offer import Offer as OfferRow
from models.growth.tier import Tier as TierRow
from models.loyalty.reward import Reward as RewardRow
from models.organisation.organisation import Branch as BranchRow
from models.organisation.organisation import StaffUser as StaffUserRow
from models.outreach.campaign import Campaign as CampaignRow
from models.service_desk.complaint import Complaint as ComplaintRow
from models.service_desk.interaction import Interaction as InteractionRow
from resolvers.growth.assignments import AssignmentView
from resolvers.node import MerchantOfferRow, load_node
from resolvers.transactions.reading import TransactionView
from schema.admin.catalogue_operations import CatalogueAdminMutation
from schema.admin.queries import AdminQuery
from schema.admin.staff_operations import StaffAdminMutation
from schema.analytics.analytics import AnalyticsQuery
from schema.audit.audit import AuditEntry, AuditQuery
from schema.cards.card import Card
from schema.cards.limit_operations import LimitMutation, LimitQuery
from schema.cards.operations import CardMutation
from schema.collections.operations import CollectionMutation, CollectionQuery
from schema.customers.customer import CustomerFields
from schema.customers.operations import CustomerMutation, CustomerQuery
from schema.customers.segments import SegmentMutation, SegmentQuery
from schema.enums import describe_enums
from schema.events.webhooks import WebhookMutation, WebhookQuery
from schema.graph import Customer
from schema.growth.evaluation import EvaluationMutation
from schema.growth.offer import Offer, OfferAssignment
from schema.growth.offer_operations import OfferMutation, OfferQuery
from schema.growth.tier import Tier
from schema.loyalty.rewards import Reward, RewardMutation, RewardQuery
from schema.merchants.merchant import MerchantMutation, MerchantOffer, MerchantQuery
from schema.organisation.organisation import Branch, StaffMember, StaffQuery, Viewer
from schema.outreach.campaign import Campaign
from schema.outreach.campaign_operations import CampaignMutation, CampaignQuery
from schema.outreach.survey import SurveyMutation, SurveyQuery
from schema.privacy.consent import ConsentMutation, ConsentQuery
from schema.privacy.erasure import ErasureMutation, ErasureQuery
from schema.privacy.requests import PrivacyRequestMutation, PrivacyRequestQuery
from schema.relay import Node, from_global_id, to_global_id
from schema.risk.alert_operations import RiskAlertMutation, RiskAlertQuery
from schema.risk.grade_operations import RiskGradeMutation
from schema.scope_field import scoped_field
from schema.service_desk.complaint import Complaint
from schema.service_desk.complaint_operations import ComplaintMutation, ComplaintQuery
from schema.service_desk.interaction import Interaction, InteractionMutation, InteractionQuery
from schema.tasks.operations import TaskMutation, TaskQuery
from schema.transactions.customer_fields import transaction_node
from schema.transactions.transaction import TransactionMutation
from schema.transactions.types import Transaction


def _as_node(row: object) -> Node:
    if isinstance(row, CustomerRow):
        return CustomerFields.from_row(row)
    if isinstance(row, CardRow):
        return Card.from_row(row)
    if isinstance(row, TierRow):
        return Tier.from_row(row)
    if isinstance(row, BranchRow):
        return Branch.from_row(row)
    if isinstance(row, ComplaintRow):
        return Complaint.from_row(row)
    if isinstance(row, InteractionRow):
        return Interaction.from_row(row)
    if isinstance(row, OfferRow):
        return Offer.from_row(row)
    if isinstance(row, AssignmentView):
        return OfferAssignment.of(row)
    if isinstance(row, AuditEntryRow):
        return AuditEntry.from_row(row)
    if isinstance(row, StaffUserRow):
        return StaffMember.from_row(row)
    if isinstance(row, TransactionView):
        return transaction_node(row)
    if isinstance(row, RewardRow):
        return Reward.from_row(row)
    if isinstance(row, CampaignRow):
        return Campaign.from_row(row)
    if isinstance(row, MerchantOfferRow):
        return MerchantOffer.from_row(row.offer)
    raise NotFound("no object with this id is visible to you")


def _viewer(principal: Principal) -> Viewer:
    """The caller as ``viewer`` shows them; the ID names the same staff member as their
    ``StaffMember`` ID does, under its own type so Relay's store keeps the two apart."""
    return Viewer(
        id=to_global_id("Viewer", principal.subject),
        username=principal.username,
        role=principal.role,
        scopes=sorted(principal.scopes),
        branch_id=to_global_id("Branch", principal.branch_id) if principal.branch_id else None,
    )


@strawberry.type
class CoreQuery:
    @strawberry.field(
        description="Any object by its global ID, if you may read it; NOT_FOUND otherwise."
    )
    async def node(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID, strawberry.argument(description="A global ID, as any `id` field gives.")
        ],
    ) -> Node | None:
        principal = info.context.principal
        type_name, raw_id = from_global_id(id)
        if type_name == "Viewer":
            if not principal.is_staff or raw_id != principal.subject:
                raise NotFound("no object with this id is visible to you")
            return _viewer(principal)
        return _as_node(await load_node(info.context.db, principal, type_name, raw_id))

    @scoped_field(None, "The signed-in staff user.", staff_only=True)
    def viewer(self, info: Info) -> Viewer | None:
        return _viewer(info.context.principal)

    @scoped_field(Scope.CUSTOMERS_READ, "All card tiers, lowest rank first.")
    async def tiers(self, info: Info) -> list[Tier] | None:
        rows = await info.context.db.scalars(select(TierRow).order_by(col(TierRow.rank)))
        return [Tier.from_row(row) for row in rows]


def _described(root: type, description: str) -> type:
    """``merge_types`` (which warns of a root field declared twice) takes no description."""
    get_object_definition(root, strict=True).description = description
    return root


QUERY = "Every read: each field says who may call it and which token scope it needs."
MUTATION = (
    "Every write: each field says who may call it; expected failures come back in the "
    "payload's userErrors, each with a stable code."
)
Query = merge_types(
    "Query",
    (
        CoreQuery,
        CustomerQuery,
        ComplaintQuery,
        InteractionQuery,
        AuditQuery,
        AnalyticsQuery,
        OfferQuery,
        MerchantQuery,
        StaffQuery,
        LimitQuery,
        CollectionQuery,
        RiskAlertQuery,
        SegmentQuery,
        RewardQuery,
        TaskQuery,
        SurveyQuery,
        CampaignQuery,
        WebhookQuery,
        AdminQuery,
        ConsentQuery,
        PrivacyRequestQuery,
        ErasureQuery,
    ),
)
Query = _described(Query, QUERY)
Mutation = merge_types(
    "Mutation",
    (
        CustomerMutation,
        ComplaintMutation,
        InteractionMutation,
        TransactionMutation,
        CardMutation,
        OfferMutation,
        MerchantMutation,
        EvaluationMutation,
        LimitMutation,
        RiskGradeMutation,
        CollectionMutation,
        RiskAlertMutation,
        SegmentMutation,
        RewardMutation,
        TaskMutation,
        SurveyMutation,
        CampaignMutation,
        WebhookMutation,
        StaffAdminMutation,
        CatalogueAdminMutation,
        ConsentMutation,
        PrivacyRequestMutation,
        ErasureMutation,
    ),
)
Mutation = _described(Mutation, MUTATION)
describe_enums()


# The types the schema holds beside those its root fields reach.
TYPES: list[type] = [
    Customer,
    Card,
    Tier,
    Branch,
    AuditEntry,
    Complaint,
    Interaction,
    StaffMember,
    Offer,
    OfferAssignment,
    MerchantOffer,
    Viewer,
    Transaction,
]
