"""The demo transaction generator (api/demo/transactions.py, billing.py, fraud.py) on cards of
its own: besides the purchases, each card's repayments, and the fraud patterns the risk rules
look for; the same file for the same seed."""

from __future__ import annotations

import random
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from api.demo.billing import CHINA, Account, Payer, statement_closes
from api.demo.fraud import BURST_ROWS
from api.demo.transactions import DemoCard, generate_rows
from models.cards.statement import cycle_day_for

END = datetime(2026, 6, 1, tzinfo=UTC)
ROWS = 6_000


def _cards(count: int = 240) -> list[DemoCard]:
    rng = random.Random(5)
    cards = []
    for index in range(count):
        card_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        cards.append(
            DemoCard(
                id=card_id,
                customer_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                active_from=END - timedelta(days=600),
                statement_day=cycle_day_for(card_id),
                active_until=END - timedelta(days=9) if index % 60 == 0 else None,
            )
        )
    return cards


def _rows(cards: list[DemoCard], **options: object) -> list[dict[str, str]]:
    return list(generate_rows(cards, rows=ROWS, seed=3, end=END, **options))  # type: ignore[arg-type]


def _when(row: dict[str, str]) -> datetime:
    return datetime.fromisoformat(row["time"])


def test_the_file_has_repayments_and_the_fraud_patterns_and_is_the_same_for_a_seed() -> None:
    cards = _cards()
    rows = _rows(cards)
    assert rows == _rows(cards)
    assert rows != list(generate_rows(cards, rows=ROWS, seed=4, end=END))
    kinds = Counter(row.get("kind") or "purchase" for row in rows)
    patterns = [row for row in rows if row["reference"].count("-") == 3]
    # Exactly ROWS ordinary purchases; the patterns' rows come on top.
    assert kinds["purchase"] == ROWS + len(patterns)
    assert kinds["repayment"] > len(cards)
    assert all(_when(row) < END for row in rows)
    # A burst: at least five purchases on one card within ten minutes.
    by_card: dict[str, list[datetime]] = defaultdict(list)
    for row in patterns:
        by_card[row["card_id"]].append(_when(row))
    assert any(
        sum(1 for other in times if timedelta(0) <= other - first <= timedelta(minutes=10))
        >= BURST_ROWS - 1
        for times in by_card.values()
        for first in times
    )
    # A first foreign-currency purchase, and a purchase between 02:00 and 04:00 local time.
    assert [row for row in rows if row["currency"] == "USD"]
    assert [row for row in patterns if 2 <= _when(row).astimezone(CHINA).hour < 4]
    # An amount far above the usual.
    amounts = sorted(float(row["amount"]) for row in rows if row.get("kind") != "repayment")
    assert max(float(row["amount"]) for row in patterns) >= 30_000 > 20 * amounts[len(amounts) // 2]


def test_a_stopped_card_is_tried_after_it_was_stopped_and_spends_only_before() -> None:
    cards = _cards()
    stopped = {str(card.id): card.active_until for card in cards if card.active_until}
    for history in (False, True):
        rows = _rows(cards, stopped_history=history)
        after = [
            row
            for row in rows
            if row["card_id"] in stopped
            and row.get("kind") != "repayment"
            and _when(row) >= stopped[row["card_id"]]  # type: ignore[operator]
        ]
        before = [r for r in rows if r["card_id"] in stopped and r not in after]
        assert 1 <= len(after) <= len(stopped)
        assert bool(before) is history


def test_repayments_pay_the_bill_of_the_last_close() -> None:
    closes = statement_closes(
        15, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    )
    assert [c.astimezone(CHINA).date().isoformat() for c in closes] == [
        "2026-01-16",
        "2026-02-16",
        "2026-03-16",
    ]
    assert all(c.astimezone(CHINA).hour == 0 for c in closes)
    full = Account(Payer("full"), closes, 1000)
    minimum = Account(Payer("minimum"), closes, 1000)
    for account in (full, minimum):
        account.purchase(closes[0] - timedelta(days=3), 123_45)
        account.purchase(closes[0] + timedelta(days=1), 500_00)  # the next cycle's
    assert full.repayment(closes[0] + timedelta(days=5)) == 123_45
    assert minimum.repayment(closes[0] + timedelta(days=5)) == 12_35  # 10%, rounded up
    assert full.balance == 500_00
