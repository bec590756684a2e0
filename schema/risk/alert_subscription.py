"""``riskAlertRaised``: alerts as the rules raise them, live over WebSocket.

A broker message names the alert only (``resolvers.risk.alert_events``, published after the
batch committed); each event reloads it in the subscriber's scope in a short session of its
own (``Context.event``), as the complaint subscriptions do: risk officers, admins and
auditors hear every branch's (or one, with ``branchId``), a supervisor their branch's only.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from core.context import Context, Info
from core.identity import Scope
from resolvers.risk.alert_events import RAISED_CHANNEL
from resolvers.risk.alert_queries import visible_alert
from schema.relay import uuid_of
from schema.risk.alert import RiskAlert
from schema.scope_field import scoped_subscription

logger = logging.getLogger("cardcrm.subscriptions")


def _alert_id(message: dict[str, object]) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(message["alertId"]))
    except (KeyError, ValueError):
        logger.warning("ignoring a broker message without an alert id")
        return None


async def _raised(context: Context, branch_id: uuid.UUID | None) -> AsyncGenerator[RiskAlert, None]:
    events = context.state.broker.subscribe(RAISED_CHANNEL)
    try:
        async for message in events:
            alert_id = _alert_id(message)
            if alert_id is None:
                continue
            async with context.event() as db:
                row = await visible_alert(db, context.principal, alert_id)
                if row is not None and branch_id in (None, row.branch_id):
                    # Fields resolve while the generator waits here, inside this session.
                    yield RiskAlert.from_row(row)
    finally:
        if isinstance(events, AsyncGenerator):
            await events.aclose()


@strawberry.type
class RiskAlertSubscription:
    @scoped_subscription(
        Scope.RISK_READ,
        "Each fraud or risk alert as it is raised (after its batch committed), as a query "
        "would show it to you: every branch for risk officers, admins and auditors (or one, "
        "with `branchId`), a supervisor's own branch.",
        staff_only=True,
    )
    async def risk_alert_raised(
        self,
        info: Info,
        branch_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this branch's alerts (a Branch ID)."),
        ] = None,
    ) -> AsyncGenerator[RiskAlert, None]:
        branch = uuid_of(branch_id, "Branch", field="branchId") if branch_id else None
        return _raised(info.context, branch)
