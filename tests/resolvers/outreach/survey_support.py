"""Builders for the survey and service-stars tests: complaints resolved through the service
layer (as the workflow really does it), and direct reads of what that wrote."""

from __future__ import annotations

import uuid

from sqlmodel import col, select

from api.state import AppState
from core.identity import Role
from models.outreach.message import OutboundMessage
from models.outreach.survey import Survey
from models.service_desk.complaint import Complaint
from resolvers.service_desk.complaint_workflow import ComplaintAction
from resolvers.service_desk.complaints import (
    ComplaintChange,
    NewComplaint,
    change_complaint,
    file_complaint,
)
from tests.support import staff_principal


async def resolved_complaint(
    state: AppState,
    customer_id: uuid.UUID,
    *,
    staff_id: uuid.UUID,
    branch_id: uuid.UUID,
    role: Role = Role.AGENT,
) -> Complaint:
    """A complaint of the customer filed, worked and resolved by the staff member."""
    agent = staff_principal(role, branch_id, subject=str(staff_id))
    async with state.database.session() as session:
        complaint = await file_complaint(
            session=session,
            ring=state.key_ring,
            settings=state.settings,
            broker=state.broker,
            principal=agent,
            data=NewComplaint(description="账单有误", customer_id=customer_id),
        )
        for action in (
            ComplaintAction.ACKNOWLEDGE,
            ComplaintAction.START_WORK,
            ComplaintAction.RESOLVE,
        ):
            complaint = await change_complaint(
                session=session,
                ring=state.key_ring,
                settings=state.settings,
                broker=state.broker,
                principal=agent,
                change=ComplaintChange(
                    complaint.id, complaint.version, action, resolution="已更正账单"
                ),
            )
        return complaint


async def act(
    state: AppState,
    complaint: Complaint,
    action: ComplaintAction,
    *,
    staff_id: uuid.UUID,
    note: str | None = None,
) -> Complaint:
    agent = staff_principal(Role.AGENT, complaint.branch_id, subject=str(staff_id))
    async with state.database.session() as session:
        return await change_complaint(
            session=session,
            ring=state.key_ring,
            settings=state.settings,
            broker=state.broker,
            principal=agent,
            change=ComplaintChange(
                complaint.id, complaint.version, action, note=note, resolution="再次处理"
            ),
        )


async def surveys_of(state: AppState, complaint_id: uuid.UUID) -> list[Survey]:
    async with state.database.session() as session:
        rows = await session.scalars(select(Survey).where(col(Survey.complaint_id) == complaint_id))
        return list(rows.all())


async def messages_of(state: AppState, survey_id: uuid.UUID) -> list[OutboundMessage]:
    async with state.database.session() as session:
        rows = await session.scalars(
            select(OutboundMessage).where(col(OutboundMessage.survey_id) == survey_id)
        )
        return list(rows.all())
