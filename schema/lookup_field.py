"""The one field extension of the exact-match lookup fields (``customerByPhone`` …).

A lookup field is declared with ``lookup_field(field)``: its SDL description is printed from
``auth.lookups.LOOKUPS``, and before its resolver runs the caller's role, policy and scopes
must allow a lookup by that field; a refused attempt is audited (``resolvers.customers.disclosure``)
and answers FORBIDDEN. The extension also keeps lookups off the compiled executor, which may run a
query twice (a lookup must be counted once). One lookup field per request is checked before
execution by ``api.admission.lookup_limit``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension

from auth.audit import events_by
from auth.lookups import LookupRule, lookup_rule
from core.errors import Forbidden
from resolvers.customers.disclosure import LookupReason, refuse


class LookupExtension(FieldExtension):
    def __init__(self, rule: LookupRule) -> None:
        self.rule = rule

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Any, **kwargs: Any
    ) -> Any:
        ctx = info.context
        if not self.rule.may_look_up(ctx.principal):
            async with ctx.db.exclusive() as session:
                await refuse(session, events_by(ctx), self.rule, LookupReason(kwargs["reason"]))
            raise Forbidden(
                f"your role or token may not look customers up by {self.rule.field} "
                f"(needs {self.rule.scope} and a role that may be shown the value)"
            )
        return await next_(source, info, **kwargs)


def lookup_field(field: str, how: str = "") -> Any:
    """``strawberry.field`` for a lookup listed in ``auth.lookups.LOOKUPS``; ``how`` adds how
    the arguments are matched to the description."""
    rule = lookup_rule(field)
    description = f"{rule.describe()} {how}".strip()
    return strawberry.field(description=description, extensions=[LookupExtension(rule)])
