"""The one field extension that applies ``auth.policy`` to a sensitive field.

Sensitive fields are declared with ``sensitive_field(type, field)``: the field's SDL
description is printed from the policy table, and on every resolution the caller's access
decides: DENIED raises FORBIDDEN at the field's path (null there, the rest of the response
still arrives) *before* the resolver runs, so nothing is decrypted; MASKED/STRICT_MASKED
mask the resolved value; CLEAR passes it through. The extension is synchronous and sits only
on sensitive fields, to keep GraphQL's per-field cost low. The compiled executor
(``api.compiled``) applies the same two functions, ``access_to`` and ``shown``.

Fields that need a token scope but hold no sensitive value (a customer's interactions, the
audit log, a mutation) are declared with ``schema.scope_field.scoped_field`` the same way.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.extensions.field_extension import SyncExtensionResolver

from auth.masking import mask
from auth.policy import Access, FieldRule, rule_for
from core.context import Info
from core.errors import Forbidden
from core.identity import Principal
from models.sealing import SealedRow, read_field


def access_to(rule: FieldRule, principal: Principal, source: object) -> Access:
    """The caller's access to ``rule``'s field on ``source``; FORBIDDEN when DENIED, so the
    resolver (and its decryption) never runs for a caller who may not see the value."""
    access = rule.access_for(principal, getattr(source, "_owner", None))
    if access is Access.DENIED:
        raise Forbidden(f"{rule.type_name}.{rule.field_name} is not visible to this caller")
    return access


def shown(rule: FieldRule, access: Access, value: Any) -> Any:
    """The resolved value as ``access`` lets the caller see it.

    A resolver may return an awaitable (a value under a data key this process is still
    loading, ``models.sealing.read_field``): it is masked once awaited."""
    if value is None or access is Access.CLEAR or rule.mask is None:
        return value
    if inspect.isawaitable(value):
        return _shown_when_awaited(rule, access, value)
    return mask(rule.mask, str(value), strict=access is Access.STRICT_MASKED)


def showing(rule: FieldRule, access: Access) -> Callable[[str], str]:
    """``shown`` for one rule and access, decided once: what a planned query
    (``api.compiled.sql``) applies to each opened value of the field."""
    kind = rule.mask
    if access is Access.CLEAR or kind is None:
        return _as_it_is
    strict = access is Access.STRICT_MASKED
    return lambda value: mask(kind, value, strict=strict)


def _as_it_is(value: str) -> str:
    return value


async def _shown_when_awaited(rule: FieldRule, access: Access, value: Awaitable[Any]) -> Any:
    return shown(rule, access, await value)


class PolicyExtension(FieldExtension):
    def __init__(self, rule: FieldRule) -> None:
        self.rule = rule

    def resolve(self, next_: SyncExtensionResolver, source: Any, info: Any, **kwargs: Any) -> Any:
        access = access_to(self.rule, info.context.principal, source)
        return shown(self.rule, access, next_(source, info, **kwargs))


def sensitive_field(type_name: str, field_name: str) -> Any:
    """``strawberry.field`` for a field listed in the policy table."""
    rule = rule_for(type_name, field_name)
    return strawberry.field(description=rule.describe(), extensions=[PolicyExtension(rule)])


def _own_row(root: Any) -> SealedRow:
    row: SealedRow = root._row
    return row


def sealed_field(
    type_name: str,
    field_name: str,
    column: str,
    *,
    row: Callable[[Any], SealedRow] = _own_row,
) -> Any:
    """A sensitive field whose value is the sealed ``column`` of the type's row (``_row``, or
    what ``row`` picks): opened here, the one place the schema opens a sealed value, and only
    after the policy let the caller see it at all (``sensitive_field``'s rules)."""

    def open_sealed(root: Any, info: Info) -> str | None:
        return read_field(info.context.key_ring, row(root), column)

    rule = rule_for(type_name, field_name)
    return strawberry.field(
        resolver=open_sealed, description=rule.describe(), extensions=[PolicyExtension(rule)]
    )
