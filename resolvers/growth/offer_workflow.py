"""The offer and offer-assignment state machines (SPEC §3): which action may follow which status.

An offer goes draft → active ⇄ paused → expired; a draft, an active or a paused offer may be
expired (withdrawn) at any time, and an offer past its ``ends_at`` *is* expired whatever its
stored status says, so nothing has to run at midnight for a window to close. An assignment
goes targeted → viewed → accepted, and from there the merchant redeems it; viewing or
accepting again is a no-op, so a retried tap in the app changes nothing twice.

These tables are the one place the workflows are defined (``core.workflow`` answers from
them); an illegal action on an offer is refused with CONFLICT naming the current status and
the actions allowed next.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.workflow import Move, Workflow
from models.growth.offer import AssignmentStatus, Offer, OfferAssignment, OfferStatus

S = OfferStatus


class OfferWindow(Protocol):
    """What an offer's effective status reads: an ``Offer`` row or recommendation's facts."""

    @property
    def status(self) -> str: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...


class OfferAction(StrEnum):
    ACTIVATE = "activate"
    PAUSE = "pause"
    EXPIRE = "expire"


A = OfferAction
OFFER_WORKFLOW: Workflow[OfferStatus, OfferAction] = Workflow(
    OfferStatus,
    "an offer",
    {
        A.ACTIVATE: Move(frozenset({S.DRAFT, S.PAUSED}), S.ACTIVE),
        A.PAUSE: Move(frozenset({S.ACTIVE}), S.PAUSED),
        A.EXPIRE: Move(frozenset({S.DRAFT, S.ACTIVE, S.PAUSED}), S.EXPIRED),
    },
)
# An expired offer (terminal) is history: nothing about it changes any more.
EDITABLE = frozenset(OfferStatus) - OFFER_WORKFLOW.terminal_states


def effective_status(offer: OfferWindow, now: datetime) -> OfferStatus:
    """The stored status, except that an offer past its window is expired."""
    if now >= offer.ends_at:
        return OfferStatus.EXPIRED
    return OfferStatus(offer.status)


def is_live(offer: OfferWindow, now: datetime) -> bool:
    """Active and inside its validity window: the only state customers can act on."""
    return effective_status(offer, now) is OfferStatus.ACTIVE and offer.starts_at <= now


class AssignmentAction(StrEnum):
    VIEW = "view"
    ACCEPT = "accept"


AS = AssignmentStatus
# Viewing again (or once the offer is over) and accepting again change nothing: asking again
# returns the assignment as it is. A refusal names the status only, not the actions allowed.
ASSIGNMENT_WORKFLOW: Workflow[AssignmentStatus, AssignmentAction] = Workflow(
    AssignmentStatus,
    "an offer",
    {
        AssignmentAction.VIEW: Move(
            frozenset({AS.TARGETED}),
            AS.VIEWED,
            unchanged_in=frozenset({AS.VIEWED, AS.ACCEPTED, AS.REDEEMED, AS.EXPIRED}),
        ),
        AssignmentAction.ACCEPT: Move(
            frozenset({AS.TARGETED, AS.VIEWED}), AS.ACCEPTED, unchanged_in=frozenset({AS.ACCEPTED})
        ),
    },
    field="assignmentId",
    names_allowed=False,
)


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
