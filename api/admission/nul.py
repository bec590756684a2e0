"""No string an operation carries may hold U+0000 (NUL), in its document or its variables.

PostgreSQL cannot store NUL in a text column nor take it as a text parameter, so a NUL in a
filter, a reference or a code failed in the driver, and the caller got INTERNAL_SERVER_ERROR.
No name, note, filter or code has a use for it: ``api.admission.admit`` refuses it before
anything runs, with BAD_USER_INPUT, on SQLite too, so both backends answer alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import DocumentNode, GraphQLError, StringValueNode, Visitor, visit

from core.errors import ErrorCode

NUL = "\x00"
_FIX = "strings may not contain the NUL character (U+0000); remove it"


def nul_errors(document: DocumentNode, variables: Mapping[str, Any] | None) -> list[GraphQLError]:
    """A BAD_USER_INPUT error for the literals holding NUL, and one per such variable."""
    finder = _NulLiterals()
    visit(document, finder)
    errors = []
    if finder.found:
        errors.append(_error(f"A string in the document holds NUL: {_FIX}.", finder.found))
    errors += [
        _error(f"Variable `${name}` holds NUL: {_FIX}.", [])
        for name, value in (variables or {}).items()
        if holds_nul(value)
    ]
    return errors


class _NulLiterals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[StringValueNode] = []

    def enter_string_value(self, node: StringValueNode, *_: object) -> None:
        if NUL in node.value:
            self.found.append(node)


def holds_nul(value: object) -> bool:
    """Whether a decoded JSON value holds NUL anywhere; a loop, not recursion, however deep
    the value is nested."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _error(message: str, nodes: list[StringValueNode]) -> GraphQLError:
    code = ErrorCode.BAD_USER_INPUT.value
    return GraphQLError(message, nodes=nodes or None, extensions={"code": code})
