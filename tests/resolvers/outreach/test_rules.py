"""The pure rules of outreach: the holdout hash, the do-not-disturb end, the lift.

Given fixed inputs, then: the holdout is deterministic and close to its share over many
customers; a window that wraps midnight ends the next morning; the lift's interval is the
Wald interval of the difference of two proportions, and absent while a group is empty.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime

from core.identity import Role
from resolvers.outreach.launch import in_control
from resolvers.outreach.placeholders import placeholders_in, render
from resolvers.outreach.results import Rate, lift
from resolvers.service_desk.contact_rules import do_not_disturb_until
from tests.support import staff_principal

SHANGHAI = "Asia/Shanghai"


def test_the_holdout_is_deterministic_and_near_its_share() -> None:
    campaign = uuid.UUID(int=42)
    customers = [uuid.UUID(int=n) for n in range(20_000)]
    first = [in_control(campaign, c, 10) for c in customers]
    assert first == [in_control(campaign, c, 10) for c in customers]
    assert 0.09 < sum(first) / len(customers) < 0.11
    assert not any(in_control(campaign, c, 0) for c in customers[:500])
    other = [in_control(uuid.UUID(int=43), c, 10) for c in customers]
    assert other != first  # another campaign draws another group


def test_a_do_not_disturb_window_that_wraps_midnight_ends_the_next_morning() -> None:
    late = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    until = do_not_disturb_until("22:00", "08:00", late, SHANGHAI)
    assert until == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 the next day
    early = datetime(2026, 3, 1, 22, 0, tzinfo=UTC)  # 06:00 in Shanghai
    assert do_not_disturb_until("22:00", "08:00", early, SHANGHAI) == datetime(
        2026, 3, 2, 0, 0, tzinfo=UTC
    )
    noon = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    assert do_not_disturb_until("22:00", "08:00", noon, SHANGHAI) is None
    assert do_not_disturb_until(None, None, noon, SHANGHAI) is None


def test_the_lift_is_the_wald_interval_of_two_proportions() -> None:
    found = lift(Rate(size=400, reached=120), Rate(size=100, reached=20))
    assert found is not None
    spread = 1.959964 * math.sqrt(0.3 * 0.7 / 400 + 0.2 * 0.8 / 100)
    assert math.isclose(found.value, 0.1)
    assert math.isclose(found.low, 0.1 - spread)
    assert math.isclose(found.high, 0.1 + spread)
    assert lift(Rate(size=10, reached=1), Rate(size=0, reached=0)) is None


def test_placeholders_render_as_the_launcher_may_see_them() -> None:
    template = "{name}，积分{points}，{tier}，{unknown}"
    assert placeholders_in(template) == ["name", "points", "tier", "unknown"]
    values: dict[str, str | None] = {"name": "张三丰", "points": "1200", "tier": "金卡"}
    marketer = render(template, values, staff_principal(Role.MARKETER))
    assert marketer == "张*丰，积分，金卡，{unknown}"  # points DENIED to marketers
    admin = render(template, values, staff_principal(Role.ADMIN))
    assert admin == "张*丰，积分1200，金卡，{unknown}"
