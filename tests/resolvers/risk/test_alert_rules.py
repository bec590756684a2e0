"""The alert rules on imported batches: each raises on its pattern, never twice (a re-import,
a second batch of the same burst), and not on ordinary spending."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col

from core.database import counting_statements
from models.cards.card import Card, CardStatus
from models.growth.customer_metrics import CustomerMetrics
from models.risk.alert import AlertRule, AlertSeverity, AlertStatus
from models.transactions.transaction import Transaction
from tests.conftest import Server
from tests.resolvers.risk.support_alerts import NOW, alerts_of, new_card, row, run_import
from tests.support import World


def burst(
    card: Card, start_minute: int, count: int, *, step: int = 2, prefix: str = "v"
) -> list[str]:
    return [
        row(card, f"2026-05-01T12:{start_minute + i * step:02d}:00+08:00", reference=f"{prefix}{i}")
        for i in range(count)
    ]


async def test_a_burst_raises_one_velocity_alert_whatever_its_length_and_never_twice(
    server: Server, world: World
) -> None:
    card = await new_card(server, world)
    raised: list[uuid.UUID] = []

    await run_import(server, *burst(card, 0, 7), raised=raised)  # 7 purchases in 12 minutes
    await run_import(server, *burst(card, 0, 7), raised=raised)  # the same file again
    await run_import(server, *burst(card, 14, 3, prefix="w"), raised=raised)  # the burst goes on

    [alert] = await alerts_of(server, card.customer_id)
    assert (alert.rule, alert.severity, alert.status) == (
        AlertRule.VELOCITY,
        AlertSeverity.HIGH,
        AlertStatus.OPEN,
    )
    assert alert.details == {"count": 5, "windowMinutes": 10}
    assert alert.card_id == card.id
    async with server.state.database.session() as session:
        trigger = await session.get(Transaction, alert.transaction_id)
    assert trigger is not None
    assert (trigger.occurred_at.hour, trigger.occurred_at.minute) == (4, 8)  # the 5th: 12:08
    assert alert.amount_cents == 8800
    assert raised == [alert.id]


async def test_purchases_spread_out_raise_no_velocity_alert(server: Server, world: World) -> None:
    card = await new_card(server, world)

    await run_import(server, *burst(card, 0, 4), *burst(card, 30, 4, prefix="x", step=3))

    assert await alerts_of(server, card.customer_id) == []


async def test_repayments_do_not_count_as_velocity(server: Server, world: World) -> None:
    card = await new_card(server, world)
    rows = [
        row(card, f"2026-05-01T12:0{i}:00+08:00", reference=f"r{i}", kind="repayment")
        for i in range(6)
    ]

    await run_import(server, *rows)

    assert await alerts_of(server, card.customer_id) == []


async def metrics(server: Server, customer_id: uuid.UUID, frequency: int, monetary: int) -> None:
    async with server.state.database.session() as session:
        session.add(
            CustomerMetrics(
                customer_id=customer_id,
                evaluated_at=NOW - timedelta(days=1),
                window_days=90,
                frequency=frequency,
                monetary_cents=monetary,
            )
        )
        await session.commit()


async def test_a_purchase_far_above_the_usual_raises_an_amount_spike(
    server: Server, world: World
) -> None:
    card = await new_card(server, world)
    await metrics(server, card.customer_id, frequency=10, monetary=10 * 20_000)  # usual: ¥200

    await run_import(
        server,
        row(card, "2026-05-02T12:00:00+08:00", amount="900.00", reference="normal"),
        row(card, "2026-05-03T12:00:00+08:00", amount="1000.00", reference="spike"),
        row(card, "2026-05-04T12:00:00+08:00", amount="1000.00", currency="USD", reference="usd"),
    )
    await run_import(
        server, row(card, "2026-05-03T12:00:00+08:00", amount="1000.00", reference="spike")
    )

    spikes = [
        a for a in await alerts_of(server, card.customer_id) if a.rule == AlertRule.AMOUNT_SPIKE
    ]
    assert [(a.amount_cents, a.details) for a in spikes] == [(100_000, {"usualAmount": 20_000})]


async def test_no_amount_spike_without_enough_history_or_below_the_floor(
    server: Server, world: World
) -> None:
    new_customer = await new_card(server, world)
    await metrics(server, new_customer.customer_id, frequency=2, monetary=2 * 1_000)
    small = await new_card(server, world)
    await metrics(server, small.customer_id, frequency=10, monetary=10 * 1_000)  # usual: ¥10

    await run_import(
        server,
        row(new_customer, "2026-05-02T12:00:00+08:00", amount="5000.00", reference="n"),
        row(small, "2026-05-02T12:00:00+08:00", amount="500.00", reference="s"),  # 50×, < floor
    )

    assert await alerts_of(server, new_customer.customer_id) == []
    assert await alerts_of(server, small.customer_id) == []


async def test_a_new_category_at_night_raises_once(server: Server, world: World) -> None:
    card = await new_card(server, world)

    await run_import(
        server,
        row(card, "2026-05-01T12:00:00+08:00", category="dining", reference="day"),
        row(card, "2026-05-02T03:00:00+08:00", category="dining", reference="known"),
        row(card, "2026-05-02T02:30:00+08:00", category="travel", reference="new"),
        row(card, "2026-05-02T04:00:00+08:00", category="travel", reference="again"),
        row(card, "2026-05-02T14:00:00+08:00", category="fuel", reference="daytime"),
    )
    await run_import(
        server, row(card, "2026-05-02T02:30:00+08:00", category="travel", reference="new")
    )

    [alert] = await alerts_of(server, card.customer_id)
    assert (alert.rule, alert.severity, alert.details) == (
        AlertRule.UNUSUAL_CATEGORY_HOUR,
        AlertSeverity.LOW,
        {"category": "travel"},
    )
    assert alert.occurred_at is not None
    assert alert.occurred_at.hour == 18  # 02:30 +08:00


async def test_the_first_foreign_currency_raises_once_per_customer(
    server: Server, world: World
) -> None:
    card = await new_card(server, world)

    await run_import(
        server,
        row(card, "2026-05-01T12:00:00+08:00", reference="cny"),
        row(card, "2026-05-02T12:00:00+08:00", currency="USD", reference="usd"),
        row(card, "2026-05-03T12:00:00+08:00", currency="JPY", reference="jpy"),
    )
    await run_import(server, row(card, "2026-05-04T12:00:00+08:00", currency="EUR", reference="e"))

    [alert] = await alerts_of(server, card.customer_id)
    assert (alert.rule, alert.details) == (AlertRule.FOREIGN_CURRENCY, {"currency": "USD"})


async def test_use_of_a_frozen_or_blocked_card_raises_while_the_row_stays_refused(
    server: Server, world: World
) -> None:
    frozen = await new_card(server, world, CardStatus.FROZEN)
    blocked = await new_card(server, world, CardStatus.BLOCKED)
    issued = await new_card(server, world, CardStatus.ISSUED)
    rows = [
        row(frozen, "2026-05-01T12:00:00+08:00", amount="66.00", reference="f"),
        row(blocked, "2026-05-01T12:05:00+08:00", currency="USD", category="travel", reference="b"),
        row(issued, "2026-05-01T12:10:00+08:00", reference="i"),
    ]
    raised: list[uuid.UUID] = []

    summary = await run_import(server, *rows, raised=raised)
    again = await run_import(server, *rows, raised=raised)

    assert (summary.imported, summary.rejected) == (0, 3)
    assert (again.imported, again.rejected) == (0, 3)
    [on_frozen] = await alerts_of(server, frozen.customer_id)
    [on_blocked] = await alerts_of(server, blocked.customer_id)
    assert await alerts_of(server, issued.customer_id) == []
    assert (on_frozen.rule, on_frozen.severity, on_frozen.transaction_id) == (
        AlertRule.INACTIVE_CARD_USE,
        AlertSeverity.MEDIUM,
        None,
    )
    assert on_frozen.details == {"cardStatus": "frozen", "category": "dining", "currency": "CNY"}
    assert on_frozen.amount_cents == 6600
    assert on_blocked.severity == AlertSeverity.HIGH
    assert on_blocked.details == {"cardStatus": "blocked", "category": "travel", "currency": "USD"}
    assert sorted(raised) == sorted([on_frozen.id, on_blocked.id])
    async with server.state.database.session() as session:
        stored = await session.scalars(
            select(Transaction).where(col(Transaction.card_id).in_([frozen.id, blocked.id]))
        )
        assert list(stored) == []


async def test_the_rules_run_a_constant_number_of_statements(server: Server, world: World) -> None:
    cards = [await new_card(server, world) for _ in range(3)]
    # Each batch has a purchase for every rule: at night, in a foreign currency, a large one.
    small = [
        row(cards[0], "2026-05-01T03:00:00+08:00", currency="USD", reference="s0"),
        row(cards[0], "2026-05-01T12:00:00+08:00", amount="2000.00", reference="s1"),
    ]
    large = [
        row(
            card,
            f"2026-05-0{day}T0{hour}:00:00+08:00",
            currency=currency,
            amount=amount,
            reference=f"l{day}{hour}",
        )
        for card in cards
        for day in range(1, 8)
        for hour, currency, amount in (
            (1, "USD", "88.00"),
            (2, "CNY", "88.00"),
            (9, "CNY", "2000.00"),
        )
    ] + [row(cards[0], "2026-05-09T09:00:00+08:00", reference="l64")]  # 64 rows: one insert

    async with counting_statements() as few:
        await run_import(server, *small)
    async with counting_statements() as many:
        await run_import(server, *large)

    assert few.value == many.value, (few.value, many.value)
