"""The offer and offer-assignment state machines (SPEC §3): which action may follow which status.

An offer goes draft → active ⇄ paused → expired; a draft, an active or a paused offer may be
expired (withdrawn) at any time, and an offer past its ``ends_at`` *is* expired whatever its
stored status says, so nothing has to run at midnight for a window to close. An assignment
goes targeted → viewed → accepted, and from there the merchant redeems it; viewing or
accepting again is a no-op, so a retried tap in the app changes nothing twice.

These tables are the one place the workflows are defined; an illegal action is refused with
CONFLICT naming the current status and the actions allowed next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.errors import Conflict
from models.growth.offer import AssignmentStatus, Offer, OfferAssignment, OfferStatus

S = OfferStatus


class OfferAction(StrEnum):
    ACTIVATE = "activate"
    PAUSE = "pause"
    EXPIRE = "expire"


@dataclass(frozen=True)
class Transition:
    allowed_from: frozenset[OfferStatus]
    to: OfferStatus


A = OfferAction
TRANSITIONS: dict[OfferAction, Transition] = {
    A.ACTIVATE: Transition(frozenset({S.DRAFT, S.PAUSED}), S.ACTIVE),
    A.PAUSE: Transition(frozenset({S.ACTIVE}), S.PAUSED),
    A.EXPIRE: Transition(frozenset({S.DRAFT, S.ACTIVE, S.PAUSED}), S.EXPIRED),
}
# An expired offer is history: nothing about it changes any more.
EDITABLE = frozenset({S.DRAFT, S.ACTIVE, S.PAUSED})


def effective_status(offer: Offer, now: datetime) -> OfferStatus:
    """The stored status, except that an offer past its window is expired."""
    if now >= offer.ends_at:
        return OfferStatus.EXPIRED
    return OfferStatus(offer.status)


def is_live(offer: Offer, now: datetime) -> bool:
    """Active and inside its validity window: the only state customers can act on."""
    return effective_status(offer, now) is OfferStatus.ACTIVE and offer.starts_at <= now


def allowed_actions(status: OfferStatus) -> list[OfferAction]:
    return [action for action, rule in TRANSITIONS.items() if status in rule.allowed_from]


def next_status(status: OfferStatus, action: OfferAction) -> OfferStatus:
    """The status after ``action``; an illegal action is a CONFLICT that says what is allowed."""
    rule = TRANSITIONS[action]
    if status not in rule.allowed_from:
        allowed = ", ".join(a.value for a in allowed_actions(status)) or "none"
        raise Conflict(
            f"cannot {action.value} an offer that is {status.value}; allowed next: {allowed}",
            field="status",
        )
    return rule.to


class AssignmentAction(StrEnum):
    VIEW = "view"
    ACCEPT = "accept"


@dataclass(frozen=True)
class AssignmentTransition:
    allowed_from: frozenset[AssignmentStatus]
    to: AssignmentStatus
    # Statuses in which the action changes nothing (it already happened, or for viewing: the
    # offer is over); asking again returns the assignment as it is.
    unchanged_in: frozenset[AssignmentStatus]


AS = AssignmentStatus
ASSIGNMENT_TRANSITIONS: dict[AssignmentAction, AssignmentTransition] = {
    AssignmentAction.VIEW: AssignmentTransition(
        frozenset({AS.TARGETED}),
        AS.VIEWED,
        frozenset({AS.VIEWED, AS.ACCEPTED, AS.REDEEMED, AS.EXPIRED}),
    ),
    AssignmentAction.ACCEPT: AssignmentTransition(
        frozenset({AS.TARGETED, AS.VIEWED}), AS.ACCEPTED, frozenset({AS.ACCEPTED})
    ),
}


def effective_assignment_status(
    assignment: OfferAssignment, offer: Offer, now: datetime
) -> AssignmentStatus:
    """An assignment not yet redeemed expires with its offer."""
    status = AssignmentStatus(assignment.status)
    if status is AS.REDEEMED:
        return status
    if effective_status(offer, now) is OfferStatus.EXPIRED:
        return AS.EXPIRED
    return status


def assignment_step(status: AssignmentStatus, action: AssignmentAction) -> AssignmentStatus | None:
    """The status after ``action``, None when it changes nothing; otherwise a CONFLICT."""
    rule = ASSIGNMENT_TRANSITIONS[action]
    if status in rule.unchanged_in:
        return None
    if status not in rule.allowed_from:
        raise Conflict(
            f"cannot {action.value} an offer that is {status.value}", field="assignmentId"
        )
    return rule.to
