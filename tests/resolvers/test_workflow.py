"""The generic workflow (``core.workflow``) serves more than complaints and offers: a card's
life, declared here as a table only (no card code uses it yet), gets its next states, its
refusals, its allowed actions, its terminal state and its SDL text from the same mechanism."""

from __future__ import annotations

from enum import StrEnum

import pytest

from core.errors import Conflict, ErrorCode
from core.workflow import Move, Workflow
from models.growth.offer import OfferStatus
from resolvers.growth.offer_workflow import OFFER_WORKFLOW, OfferAction
from resolvers.service_desk.complaint_workflow import COMPLAINT_WORKFLOW, ComplaintAction


class CardState(StrEnum):
    ISSUED = "issued"
    ACTIVE = "active"
    FROZEN = "frozen"
    BLOCKED = "blocked"
    CLOSED = "closed"


class CardAction(StrEnum):
    ACTIVATE = "activate"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    REPORT_LOST = "report_lost"
    REPORT_STOLEN = "report_stolen"
    CLOSE = "close"


C = CardState
_IN_USE = frozenset({C.ACTIVE, C.FROZEN})
CARD_WORKFLOW: Workflow[CardState, CardAction] = Workflow(
    CardState,
    "a card",
    {
        CardAction.ACTIVATE: Move(frozenset({C.ISSUED}), C.ACTIVE),
        CardAction.FREEZE: Move(
            frozenset({C.ACTIVE}), C.FROZEN, unchanged_in=frozenset({C.FROZEN})
        ),
        CardAction.UNFREEZE: Move(frozenset({C.FROZEN}), C.ACTIVE),
        CardAction.REPORT_LOST: Move(_IN_USE, C.BLOCKED),
        CardAction.REPORT_STOLEN: Move(_IN_USE, C.BLOCKED),
        CardAction.CLOSE: Move(frozenset({C.ISSUED, C.ACTIVE, C.FROZEN, C.BLOCKED}), C.CLOSED),
    },
)


def test_a_card_goes_issued_active_frozen_and_back_then_blocked_then_closed() -> None:
    state = C.ISSUED
    for action, expected in [
        (CardAction.ACTIVATE, C.ACTIVE),
        (CardAction.FREEZE, C.FROZEN),
        (CardAction.UNFREEZE, C.ACTIVE),
        (CardAction.REPORT_STOLEN, C.BLOCKED),
        (CardAction.CLOSE, C.CLOSED),
    ]:
        state = CARD_WORKFLOW.next_state(state, action)
        assert state is expected
    assert CARD_WORKFLOW.terminal_states == {C.CLOSED}


def test_an_illegal_card_action_is_the_same_conflict_as_a_complaints() -> None:
    with pytest.raises(Conflict) as refused:
        CARD_WORKFLOW.next_state(C.BLOCKED, CardAction.UNFREEZE)
    assert refused.value.code is ErrorCode.CONFLICT
    assert refused.value.field == "status"
    assert refused.value.message == ("cannot unfreeze a card that is blocked; allowed next: close")
    with pytest.raises(Conflict, match="cannot report lost a card that is issued"):
        CARD_WORKFLOW.next_state(C.ISSUED, CardAction.REPORT_LOST)
    with pytest.raises(Conflict, match=r"allowed next: none$"):
        CARD_WORKFLOW.next_state(C.CLOSED, CardAction.CLOSE)


def test_allowed_actions_repeats_and_descriptions_come_from_the_table() -> None:
    assert CARD_WORKFLOW.allowed_actions(C.FROZEN) == [
        CardAction.UNFREEZE,
        CardAction.REPORT_LOST,
        CardAction.REPORT_STOLEN,
        CardAction.CLOSE,
    ]
    assert CARD_WORKFLOW.step(C.FROZEN, CardAction.FREEZE) is None  # already frozen
    assert CARD_WORKFLOW.describe(CardAction.CLOSE) == "ISSUED, ACTIVE, FROZEN or BLOCKED → CLOSED"
    assert CARD_WORKFLOW.table[(C.FROZEN, CardAction.UNFREEZE)] is C.ACTIVE


def test_the_declared_workflows_read_as_the_sdl_says() -> None:
    assert OFFER_WORKFLOW.describe(OfferAction.EXPIRE) == "DRAFT, ACTIVE or PAUSED → EXPIRED"
    assert COMPLAINT_WORKFLOW.describe(ComplaintAction.REOPEN) == "RESOLVED or CLOSED → IN_PROGRESS"
    assert COMPLAINT_WORKFLOW.terminal_states == frozenset()
    assert OFFER_WORKFLOW.terminal_states == {OfferStatus.EXPIRED}
