"""The risk alert workflow: OPEN → CONFIRMED_FRAUD, LEGITIMATE, FALSE_POSITIVE or ESCALATED;
an ESCALATED alert is decided later (not escalated again). The three decisions are final.
This table is the one place the workflow is defined (``core.workflow`` answers from it).
"""

from __future__ import annotations

from enum import StrEnum

from core.workflow import Move, Workflow
from models.risk.alert import AlertStatus


class AlertAction(StrEnum):
    CONFIRM_FRAUD = "confirm_fraud"
    MARK_LEGITIMATE = "mark_legitimate"
    MARK_FALSE_POSITIVE = "mark_false_positive"
    ESCALATE = "escalate"


S, A = AlertStatus, AlertAction
_UNDECIDED = frozenset({S.OPEN, S.ESCALATED})
ALERT_WORKFLOW: Workflow[AlertStatus, AlertAction] = Workflow(
    AlertStatus,
    "a risk alert",
    {
        A.CONFIRM_FRAUD: Move(_UNDECIDED, S.CONFIRMED_FRAUD),
        A.MARK_LEGITIMATE: Move(_UNDECIDED, S.LEGITIMATE),
        A.MARK_FALSE_POSITIVE: Move(_UNDECIDED, S.FALSE_POSITIVE),
        A.ESCALATE: Move(frozenset({S.OPEN}), S.ESCALATED),
    },
)
