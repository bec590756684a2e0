"""The credit-limit request workflow table: only a PENDING request moves, and every decision
is final."""

from __future__ import annotations

import pytest

from core.errors import Conflict
from models.cards.limits import LimitRequestStatus as S
from resolvers.cards.limit_workflow import LIMIT_REQUEST_WORKFLOW as WORKFLOW
from resolvers.cards.limit_workflow import LimitRequestAction as A


def test_a_pending_request_may_be_approved_rejected_or_cancelled() -> None:
    assert WORKFLOW.allowed_actions(S.PENDING) == [A.APPROVE, A.REJECT, A.CANCEL]
    assert WORKFLOW.next_state(S.PENDING, A.APPROVE) is S.APPROVED
    assert WORKFLOW.next_state(S.PENDING, A.REJECT) is S.REJECTED
    assert WORKFLOW.next_state(S.PENDING, A.CANCEL) is S.CANCELLED


@pytest.mark.parametrize("status", [S.APPROVED, S.REJECTED, S.CANCELLED])
def test_a_decided_request_is_final(status: S) -> None:
    assert status in WORKFLOW.terminal_states
    with pytest.raises(Conflict, match=f"that is {status.value}; allowed next: none"):
        WORKFLOW.next_state(status, A.APPROVE)
