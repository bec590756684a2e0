"""The complaint workflow (SPEC §3): which action may follow which status.

open → acknowledged → in progress → resolved → closed, with reopen from resolved or closed,
and assign, escalate and rate as actions that do not move the status. This table is the one
place the workflow is defined (``core.workflow`` answers from it); an illegal action is
refused naming the current status and the actions allowed next.
"""

from __future__ import annotations

from enum import StrEnum

from core.workflow import Move, Workflow
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


A = ComplaintAction
# FILE is not a move: it creates the complaint OPEN and names that step in the timeline.
COMPLAINT_WORKFLOW: Workflow[ComplaintStatus, ComplaintAction] = Workflow(
    ComplaintStatus,
    "a complaint",
    {
        A.ACKNOWLEDGE: Move(frozenset({S.OPEN}), S.ACKNOWLEDGED),
        A.ASSIGN: Move(_ACTIVE),
        A.START_WORK: Move(frozenset({S.ACKNOWLEDGED}), S.IN_PROGRESS),
        A.ESCALATE: Move(_ACTIVE),
        A.RESOLVE: Move(frozenset({S.IN_PROGRESS}), S.RESOLVED),
        A.CLOSE: Move(frozenset({S.RESOLVED}), S.CLOSED),
        A.REOPEN: Move(_DONE, S.IN_PROGRESS),
        A.RATE: Move(_DONE),
    },
)
