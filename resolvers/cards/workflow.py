"""The card workflow (issue 14): which action may follow which status.

issued → active (activate); active ⇄ frozen (freeze, unfreeze); issued, active or frozen →
blocked (report lost or stolen: a replacement card is issued); issued, active or frozen →
closed. Blocked and closed are terminal: a blocked card's account lives on in its replacement,
so it is never closed again by itself. This table is the one place the workflow is defined
(``core.workflow`` answers from it); an illegal action is refused naming the current status
and the actions allowed next. ``ACTIVATED`` is the active status (its stored value and GraphQL
name predate the workflow).
"""

from __future__ import annotations

from enum import StrEnum

from core.workflow import Move, Workflow
from models.cards.card import CardStatus

S = CardStatus


class CardAction(StrEnum):
    ISSUE = "issue"  # not a move: names the step that creates a replacement card
    ACTIVATE = "activate"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    REPORT_LOST = "report_lost"
    REPORT_STOLEN = "report_stolen"
    CLOSE = "close"


A = CardAction
_LOSABLE = frozenset({S.ISSUED, S.ACTIVATED, S.FROZEN})
CARD_WORKFLOW: Workflow[CardStatus, CardAction] = Workflow(
    CardStatus,
    "a card",
    {
        A.ACTIVATE: Move(frozenset({S.ISSUED}), S.ACTIVATED),
        A.FREEZE: Move(frozenset({S.ACTIVATED}), S.FROZEN),
        A.UNFREEZE: Move(frozenset({S.FROZEN}), S.ACTIVATED),
        A.REPORT_LOST: Move(_LOSABLE, S.BLOCKED),
        A.REPORT_STOLEN: Move(_LOSABLE, S.BLOCKED),
        A.CLOSE: Move(_LOSABLE, S.CLOSED),
    },
)
