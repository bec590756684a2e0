"""The complaint state machine (SPEC §3): which action may follow which status.

open → acknowledged → in progress → resolved → closed, with reopen from resolved or closed,
and assign, escalate and rate as actions that do not move the status. This table is the one
place the workflow is defined; an illegal action is refused naming the current status and
the actions allowed next.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.errors import Conflict
from models.service_desk.complaint import ComplaintStatus

S = ComplaintStatus
_ACTIVE = frozenset({S.OPEN, S.ACKNOWLEDGED, S.IN_PROGRESS})
_DONE = frozenset({S.RESOLVED, S.CLOSED})


class ComplaintAction(StrEnum):
    FILE = "file"
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    START_WORK = "start_work"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    RATE = "rate"


@dataclass(frozen=True)
class Transition:
    allowed_from: frozenset[ComplaintStatus]
    to: ComplaintStatus | None  # None: the status stays as it is


A = ComplaintAction
TRANSITIONS: dict[ComplaintAction, Transition] = {
    A.ACKNOWLEDGE: Transition(frozenset({S.OPEN}), S.ACKNOWLEDGED),
    A.ASSIGN: Transition(_ACTIVE, None),
    A.START_WORK: Transition(frozenset({S.ACKNOWLEDGED}), S.IN_PROGRESS),
    A.ESCALATE: Transition(_ACTIVE, None),
    A.RESOLVE: Transition(frozenset({S.IN_PROGRESS}), S.RESOLVED),
    A.CLOSE: Transition(frozenset({S.RESOLVED}), S.CLOSED),
    A.REOPEN: Transition(_DONE, S.IN_PROGRESS),
    A.RATE: Transition(_DONE, None),
}


def allowed_actions(status: ComplaintStatus) -> list[ComplaintAction]:
    return [action for action, rule in TRANSITIONS.items() if status in rule.allowed_from]


def next_status(status: ComplaintStatus, action: ComplaintAction) -> ComplaintStatus:
    """The status after ``action``; an illegal action is a CONFLICT that says what is allowed."""
    rule = TRANSITIONS[action]
    if status not in rule.allowed_from:
        allowed = ", ".join(a.value for a in allowed_actions(status)) or "none"
        raise Conflict(
            f"cannot {action.value.replace('_', ' ')} a complaint that is {status.value}; "
            f"allowed next: {allowed}",
            field="status",
        )
    return rule.to or status
