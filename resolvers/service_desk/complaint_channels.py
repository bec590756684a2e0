"""Live complaint updates: the broker channels a complaint's changes go out on, and the
publishing after a change has committed (``schema/subscriptions.py`` listens on them)."""

from __future__ import annotations

import logging
import uuid

from core.broker import Broker
from core.identity import Principal
from models.columns import utcnow
from models.service_desk.complaint import Complaint
from resolvers.service_desk.complaint_workflow import ComplaintAction

logger = logging.getLogger("cardcrm.complaints")


def complaint_channel(complaint_id: uuid.UUID | str) -> str:
    return f"complaint:{complaint_id}"


def customer_channel(customer_id: uuid.UUID | str) -> str:
    return f"customer:{customer_id}:complaints"


def assignee_channel(staff_id: uuid.UUID | str) -> str:
    return f"staff:{staff_id}:assigned"


async def publish(
    broker: Broker,
    complaint: Complaint,
    action: ComplaintAction,
    principal: Principal,
    *,
    notify: uuid.UUID | None,
) -> None:
    """Tells live subscribers what changed. The change is already committed, so a broker
    outage is logged, not raised: subscribers miss an event, the data is safe."""
    message = {
        "complaintId": str(complaint.id),
        "action": action.value,
        "status": complaint.status,
        "actor": principal.audit_actor,
        "at": utcnow().isoformat(),
    }
    channels = [complaint_channel(complaint.id), customer_channel(complaint.customer_id)]
    if notify is not None:
        channels.append(assignee_channel(notify))
    try:
        for channel in channels:
            await broker.publish(channel, message)
    except Exception:
        logger.warning("could not publish %s for a complaint; subscribers will miss it", action)
