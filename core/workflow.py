"""A workflow declared as a table: which action may follow which state, and where it leads.

Complaints, offers and offer assignments (and next cards and collection cases) each move
through a few states by named actions. Each declares its table here once, one ``Move`` per
action (the states it may start from, the state it leads to), and ``Workflow`` answers every
question asked of it from that table alone: the next state, or a CONFLICT naming the current
state and the actions allowed next; the actions allowed now (``allowedActions`` in the API);
the terminal states; and the ``DRAFT or PAUSED → ACTIVE`` text the SDL's enum descriptions
quote. So the rules are written once and what the API says about them cannot drift.

It lives on the floor (``core``) because it needs nothing of ours but ``core.errors``: a table
may be declared by any layer above, next to the status enum it moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from core.errors import Conflict

S = TypeVar("S", bound=StrEnum)
A = TypeVar("A", bound=StrEnum)


@dataclass(frozen=True)
class Move(Generic[S]):
    """One action's row of the table."""

    allowed_from: frozenset[S]
    to: S | None = None  # None: the action is recorded, the state stays as it is
    # States in which asking again changes nothing (it already happened): ``step`` answers
    # None there instead of a CONFLICT, so a retried tap is harmless.
    unchanged_in: frozenset[S] = frozenset()


class Workflow(Generic[S, A]):
    """The (state, action) → next state table of one kind of thing, and what follows from it.

    ``subject`` names the thing in refusals ("a complaint", "an offer"); ``field`` is the
    input field a refusal is about; ``names_allowed`` adds "; allowed next: …" to it.
    """

    def __init__(
        self,
        states: type[S],
        subject: str,
        moves: Mapping[A, Move[S]],
        *,
        field: str = "status",
        names_allowed: bool = True,
    ) -> None:
        self.states = states
        self.subject = subject
        self.moves = dict(moves)
        self.field = field
        self.names_allowed = names_allowed
        self.table: dict[tuple[S, A], S] = {
            (state, action): move.to or state
            for action, move in self.moves.items()
            for state in move.allowed_from
        }

    def allowed_actions(self, state: S) -> list[A]:
        """The actions allowed in ``state``, in the order the table declares them."""
        return [action for action, move in self.moves.items() if state in move.allowed_from]

    def next_state(self, state: S, action: A) -> S:
        """The state after ``action``; an illegal action is a CONFLICT that says what is allowed."""
        after = self.table.get((state, action))
        if after is None:
            doing = action.value.replace("_", " ")
            message = f"cannot {doing} {self.subject} that is {state.value}"
            if self.names_allowed:
                allowed = ", ".join(a.value for a in self.allowed_actions(state)) or "none"
                message += f"; allowed next: {allowed}"
            raise Conflict(message, field=self.field)
        return after

    def step(self, state: S, action: A) -> S | None:
        """``next_state``, except None where the action already happened (``unchanged_in``)."""
        if state in self.moves[action].unchanged_in:
            return None
        return self.next_state(state, action)

    def allowed_from(self, action: A) -> list[S]:
        """The states ``action`` may start from, in the enum's order (e.g. for a SQL guard)."""
        return [state for state in self.states if state in self.moves[action].allowed_from]

    @property
    def terminal_states(self) -> frozenset[S]:
        """The states no action leaves: history, nothing about it changes any more."""
        return frozenset(state for state in self.states if not self.allowed_actions(state))

    def describe(self, action: A) -> str:
        """The move as the SDL writes it: ``DRAFT, ACTIVE or PAUSED → EXPIRED`` (GraphQL names,
        in the enum's order); ``… → the same status`` for an action that keeps the state."""
        names = [state.name for state in self.allowed_from(action)]
        sources = " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        to = self.moves[action].to
        return f"{sources} → {to.name if to is not None else 'the same status'}"
