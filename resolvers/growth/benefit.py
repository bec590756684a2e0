"""What an offer's benefit is worth: the allowed values per benefit type, and the cost of one
redemption to the offer's budget.

One module so the marketer's validation (``resolvers.growth.offers``), the merchant's redemption
(which charges the budget) and the growth KPIs all agree on what a benefit means. Money is
integer cents (the API gives and shows it in yuan); a percentage is a whole number of percent;
a points multiplier is a whole factor.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import BadUserInput
from core.money import MAX_CENTS, yuan_text
from models.growth.offer import BenefitType


@dataclass(frozen=True)
class ValueRange:
    low: int
    high: int
    unit: str
    in_yuan: bool = False  # kept in cents, given and shown in yuan; otherwise a whole number

    def describe(self) -> str:
        return f"from {self._shown(self.low)} to {self._shown(self.high)} {self.unit}"

    def _shown(self, value: int) -> str:
        return yuan_text(value) if self.in_yuan else str(value)


# What `benefitValue` means and may be, per benefit type (bounds as stored).
VALUE_RANGES: dict[BenefitType, ValueRange] = {
    BenefitType.PERCENT_OFF: ValueRange(1, 100, "percent"),
    BenefitType.AMOUNT_OFF: ValueRange(1, MAX_CENTS, "yuan", in_yuan=True),
    BenefitType.CASHBACK: ValueRange(1, MAX_CENTS, "yuan", in_yuan=True),
    # 2 = double points; 1 would be no benefit at all.
    BenefitType.POINTS_MULTIPLIER: ValueRange(2, 10, "times the usual points"),
}


def checked_benefit(benefit_type: str, value: int) -> tuple[BenefitType, int]:
    """The benefit type and value, or BAD_USER_INPUT naming the field that is wrong."""
    if benefit_type not in BenefitType._value2member_map_:
        known = ", ".join(BenefitType)
        raise BadUserInput(f"benefitType must be one of: {known}", field="benefitType")
    kind = BenefitType(benefit_type)
    allowed = VALUE_RANGES[kind]
    if not allowed.low <= value <= allowed.high:
        raise BadUserInput(
            f"benefitValue of a {kind.value} offer must be {allowed.describe()}",
            field="benefitValue",
        )
    return kind, value


def benefit_cost_cents(benefit_type: str, value: int, amount_cents: int) -> int:
    """What redeeming the offer on a purchase of ``amount_cents`` costs the offer's budget.

    percent off: that share of the amount, rounded down to the cent; amount off: the value,
    but never more than the purchase; cashback: the value; points multiplier: nothing in
    money (points are accounted elsewhere).
    """
    amount = max(amount_cents, 0)
    kind = BenefitType(benefit_type)
    if kind is BenefitType.PERCENT_OFF:
        return amount * value // 100
    if kind is BenefitType.AMOUNT_OFF:
        return min(value, amount)
    if kind is BenefitType.CASHBACK:
        return value
    return 0
