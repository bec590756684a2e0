"""A campaign template's placeholders (``{name}``, ``{tier}``, ``{offer}``, ``{points}``, …),
checked when the campaign is written and filled when a message is sent.

Each placeholder reads one customer field; whether it may be used, and how it shows, is the
field policy table's answer for the staff member who launches the campaign (auth/policy.py):
CLEAR fills the value, MASKED (or STRICT_MASKED, OWN_CLEAR for someone else's record) the
masked display, DENIED refuses the template when it is written (BAD_USER_INPUT naming the
placeholder), so a campaign never lets its author send what they may not read. A placeholder
without a policy row (the tier's name, the offer's title) is C1 marketing data: clear.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from auth.masking import mask
from auth.policy import Access, FieldRule, rule_for
from auth.scopes import ROLE_SCOPES
from core.errors import BadUserInput
from core.identity import Principal, PrincipalKind, Role

PLACEHOLDER = re.compile(r"\{([A-Za-z][A-Za-z0-9]*)\}")
# placeholder → the policy row of the customer field it reads (None: no row, C1, clear).
POLICY_ROWS: dict[str, tuple[str, str] | None] = {
    "name": ("Customer", "name"),
    "address": ("Customer", "address"),
    "birthDate": ("Customer", "birthDate"),
    "points": ("Customer", "points"),
    "riskGrade": ("Customer", "riskGrade"),
    "tier": None,
    "offer": None,
}
# Placeholders filled from the customer's sealed columns (opened at send time).
SEALED = {"name": "name", "address": "address", "birthDate": "birth_date"}


def placeholders_in(template: str) -> list[str]:
    """The placeholders of ``template``, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(template)))


def _rule(placeholder: str) -> FieldRule | None:
    key = POLICY_ROWS[placeholder]
    return None if key is None else rule_for(*key)


def access_to(placeholder: str, principal: Principal) -> Access:
    rule = _rule(placeholder)
    return Access.CLEAR if rule is None else rule.access_for(principal)


def check_template(template: str, principal: Principal, *, has_offer: bool) -> list[str]:
    """The template's placeholders, or BAD_USER_INPUT naming the first one that is unknown,
    DENIED to ``principal``, or ``{offer}`` without an offer."""
    used = placeholders_in(template)
    for name in used:
        if name not in POLICY_ROWS:
            known = ", ".join(f"{{{known}}}" for known in POLICY_ROWS)
            raise BadUserInput(
                f"unknown placeholder {{{name}}} in the template; known: {known}",
                field="template",
            )
        if access_to(name, principal) is Access.DENIED:
            raise BadUserInput(
                f"placeholder {{{name}}} reads a field you may not see; remove it",
                field="template",
            )
        if name == "offer" and not has_offer:
            raise BadUserInput("placeholder {offer} needs the campaign's offer", field="template")
    return used


@dataclass(frozen=True)
class Launcher:
    """The staff member a campaign's messages speak for, as the policy reads them."""

    staff_id: uuid.UUID
    role: Role
    branch_id: uuid.UUID | None

    def principal(self) -> Principal:
        """Their rights as their role grants them (a batch sends after their token expired)."""
        return Principal(
            kind=PrincipalKind.STAFF,
            subject=str(self.staff_id),
            role=self.role,
            scopes=ROLE_SCOPES[self.role],
            client_id="cardcrm-campaigns",
            token_id="campaign-launch",
            expires_at=0,
            branch_id=self.branch_id,
        )


def render(template: str, values: dict[str, str | None], principal: Principal) -> str:
    """``template`` with each placeholder replaced by its value as ``principal`` may see it
    (an empty string for a missing value or, defensively, a field denied since)."""

    def shown(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in POLICY_ROWS:
            return match.group(0)
        value = values.get(name)
        access = access_to(name, principal)
        if value is None or access is Access.DENIED:
            return ""
        rule = _rule(name)
        if access is Access.CLEAR or rule is None or rule.mask is None:
            return value
        return mask(rule.mask, value, strict=access is Access.STRICT_MASKED)

    return PLACEHOLDER.sub(shown, template)
