"""Telling live subscribers (``riskAlertRaised``) which alerts were raised.

The rules run inside a batch's transaction; their alerts exist for others only once it has
committed, so the rules only collect the ids (``rules.alert_rules``) and whoever commits the
batch (``cardcrm import transactions``, ``ingestTransactions``, ``cardcrm risk scan``) calls
``publish_raised`` after the commit. A message names the alert only; each subscriber reloads
it in its own scope (a supervisor sees their branch's), as the complaint events do.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from core.broker import Broker
from models.columns import utcnow

logger = logging.getLogger("cardcrm.risk")
RAISED_CHANNEL = "risk:alerts:raised"


async def publish_raised(broker: Broker, alert_ids: Iterable[uuid.UUID]) -> None:
    """One message per raised alert. The alerts are committed, so a broker outage is logged,
    not raised: subscribers miss the events, the alerts are safe in the queue."""
    at = utcnow().isoformat()
    try:
        for alert_id in alert_ids:
            await broker.publish(RAISED_CHANNEL, {"alertId": str(alert_id), "at": at})
    except Exception:
        logger.warning("could not publish raised risk alerts; subscribers will miss them")
