"""Repayments and refunds arrive through the same import as purchases, with a ``kind``.

Given rows that name a kind (or none: a purchase), when they are imported, then each is
stored with its kind and its amount positive; a re-run stores nothing twice; the same
content as a purchase and as a repayment is two transactions (the kind is in the natural
key), while a purchase's key is the one it had before kinds existed; an unknown kind refuses
its row alone.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

from resolvers.transactions.files import FileFormat
from resolvers.transactions.rows import UNIT_SEPARATOR, check_row, natural_key
from tests.conftest import Server
from tests.resolvers.transactions.test_ingest import (
    NOW,
    FreshCard,
    new_card,
    raw,
    run_import,
    stored,
)
from tests.support import World

HEADER = "card_id,amount,merchant,merchant_category,channel,time,reference,kind\n"


def _line(card: FreshCard, amount: str, kind: str, reference: str = "") -> str:
    return (
        f"{card.id},{amount},招商银行,other,online,2026-05-02T09:00:00+08:00,{reference},{kind}\n"
    )


async def test_kinds_are_stored_with_positive_amounts_and_a_rerun_stores_nothing(
    server: Server, world: World
) -> None:
    card = await new_card(server, world)
    text = (
        HEADER
        + _line(card, "100.00", "")
        + _line(card, "100.00", "repayment")
        + _line(card, "100.00", "REFUND")
        + _line(card, "100.00", "purchase", reference="P1")
        + _line(card, "100.00", "repayment", reference="P1")
    )
    first = await run_import(server, text)
    again = await run_import(server, text)
    assert (first.imported, first.duplicates, first.rejected) == (5, 0, 0)
    assert (again.imported, again.duplicates, again.rejected) == (0, 5, 0)
    rows = await stored(server, card)
    assert sorted(row.kind for row in rows) == [
        "purchase",
        "purchase",
        "refund",
        "repayment",
        "repayment",
    ]
    assert {row.amount_cents for row in rows} == {10_000}


async def test_json_lines_carry_the_kind_and_an_unknown_kind_refuses_its_row_alone(
    server: Server, world: World
) -> None:
    card = await new_card(server, world)
    base = {
        "card_id": str(card.id),
        "amount": "50.00",
        "merchant": "工商银行",
        "merchant_category": "other",
        "channel": "online",
        "time": "2026-05-03T09:00:00+08:00",
    }
    text = "\n".join(
        json.dumps({**base, **extra})
        for extra in ({"kind": "repayment"}, {"kind": "cashback"}, {"amount": "-50.00"})
    )
    summary = await run_import(server, text + "\n", FileFormat.JSONL)
    assert (summary.imported, summary.rejected) == (1, 2)
    assert [error.reason for error in summary.errors] == [
        "kind 'cashback' is not one of: purchase, repayment, refund",
        "amount must be positive; give a refund or repayment its kind instead",
    ]
    [row] = await stored(server, card)
    assert (row.kind, row.amount_cents) == ("repayment", 5_000)


def test_a_purchases_key_is_the_one_it_had_before_kinds() -> None:
    row = check_row(raw(), now=NOW)
    assert row.card_id is not None
    parts = (
        str(row.card_id),
        "1000",
        "CNY",
        "m",
        "dining",
        "pos",
        row.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )
    before = "row:" + hashlib.sha256(UNIT_SEPARATOR.join(parts).encode()).hexdigest()
    assert natural_key(row.card_id, row) == before
    repayment = check_row(raw(card_id=str(row.card_id), kind="repayment"), now=NOW)
    assert natural_key(row.card_id, repayment) != before
