"""The credit-limit request workflow: PENDING → APPROVED, REJECTED or CANCELLED.

A request is filed PENDING; a risk officer who is not its requester approves or rejects it,
and its requester may cancel it while it is pending. Each decision is final. This table is
the one place the workflow is defined (``core.workflow`` answers from it).
"""

from __future__ import annotations

from enum import StrEnum

from core.workflow import Move, Workflow
from models.cards.limits import LimitRequestStatus


class LimitRequestAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"


S, A = LimitRequestStatus, LimitRequestAction
_PENDING = frozenset({S.PENDING})
LIMIT_REQUEST_WORKFLOW: Workflow[LimitRequestStatus, LimitRequestAction] = Workflow(
    LimitRequestStatus,
    "a credit-limit request",
    {
        A.APPROVE: Move(_PENDING, S.APPROVED),
        A.REJECT: Move(_PENDING, S.REJECTED),
        A.CANCEL: Move(_PENDING, S.CANCELLED),
    },
)
