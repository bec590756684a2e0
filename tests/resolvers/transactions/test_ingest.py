"""Transaction import: reading, checking and writing rows, on cards each test creates.

Given a file of rows naming fresh cards (by id, global ID or PAN), when it is imported, then
good rows are stored once, each bad row is reported with its line and why, and a re-run
stores nothing twice. The amount parser's round trip is checked with hypothesis.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlmodel import col

from core.money import yuan_text
from models.cards.card import Card
from models.customers.identifiers import luhn_check_digit
from models.sealing import open_field
from models.transactions.transaction import Transaction
from resolvers.transactions import ingest as transaction_import
from resolvers.transactions.files import (
    CountingLines,
    FileFormat,
    TransactionFileError,
    csv_rows,
    file_rows,
    jsonl_rows,
)
from resolvers.transactions.ingest import ImportSummary, _chunks, _padded, import_transactions
from resolvers.transactions.rows import (
    MAX_AMOUNT_CENTS,
    CheckedRow,
    RawRow,
    RowError,
    check_row,
    natural_key,
    parse_amount,
)
from schema.relay import to_global_id
from tests.conftest import Server
from tests.support import World, add_customer

NOW = datetime(2026, 6, 1, tzinfo=UTC)
# A BIN no test issues cards under, so no other test file can create this card first.
UNKNOWN_PAN = "621700999999999" + luhn_check_digit("621700999999999")
HEADER = "card_id,pan,amount,currency,merchant,merchant_category,channel,time,reference\n"


@dataclass(frozen=True)
class FreshCard:
    id: uuid.UUID
    pan: str


async def new_card(server: Server, world: World) -> FreshCard:
    """A card of a new customer, so what a test imports touches nothing else."""
    customer_id = await add_customer(server.state, world, active=True)
    async with server.state.database.session() as session:
        card = (await session.scalars(select(Card).where(Card.customer_id == customer_id))).one()
    pan = open_field(server.state.key_ring, card, "pan")
    assert pan is not None
    return FreshCard(card.id, pan)


async def stored(server: Server, *cards: FreshCard) -> list[Transaction]:
    async with server.state.database.session() as session:
        query = (
            select(Transaction)
            .where(col(Transaction.card_id).in_([card.id for card in cards]))
            .order_by(col(Transaction.occurred_at), col(Transaction.amount_cents))
        )
        return list(await session.scalars(query))


async def run_import(
    server: Server, text: str, file_format: FileFormat = FileFormat.CSV, *, batch_rows: int = 100
) -> ImportSummary:
    lines = CountingLines(io.BytesIO(text.encode()))
    return await import_transactions(
        database=server.state.database,
        ring=server.state.key_ring,
        rows=file_rows(lines, file_format),
        batch_rows=batch_rows,
        now=NOW,
    )


def csv_line(
    card: str = "",
    pan: str = "",
    amount: str = "88.00",
    currency: str = "CNY",
    merchant: str = "星巴克",
    category: str = "dining",
    channel: str = "pos",
    time: str = "2026-05-01T12:30:00+08:00",
    reference: str = "",
) -> str:
    return f"{card},{pan},{amount},{currency},{merchant},{category},{channel},{time},{reference}\n"


def raw(**fields: object) -> RawRow:
    base: dict[str, object] = {
        "card_id": str(uuid.uuid4()),
        "amount": "10.00",
        "merchant": "m",
        "merchant_category": "dining",
        "channel": "pos",
        "time": "2026-05-01T00:00:00Z",
    }
    base.update(fields)
    return RawRow(1, base)


# --- whole files ----------------------------------------------------------------------------


async def test_a_csv_file_names_cards_by_id_global_id_or_pan_and_is_stored_in_cents_and_utc(
    server: Server, world: World
) -> None:
    card = await new_card(server, world)
    text = (
        HEADER
        + csv_line(card=str(card.id), amount="88", time="2026-05-01T12:30:00+08:00")
        + csv_line(card=to_global_id("Card", card.id), amount="1234.5", category="TRAVEL")
        + csv_line(pan=card.pan, amount="0.01", currency="usd", channel="online", reference="R1")
    )
    summary = await run_import(server, text)
    assert (summary.read, summary.imported, summary.duplicates, summary.rejected) == (3, 3, 0, 0)
    rows = await stored(server, card)
    assert [(r.amount_cents, r.currency, r.merchant_category, r.channel) for r in rows] == [
        (1, "USD", "dining", "online"),
        (8800, "CNY", "dining", "pos"),
        (123450, "CNY", "travel", "pos"),
    ]
    assert rows[0].occurred_at == datetime(2026, 5, 1, 4, 30, tzinfo=UTC)
    assert rows[0].merchant_name == "星巴克"


async def test_a_json_lines_file_keeps_numbers_exact_and_skips_blank_lines(
    server: Server, world: World
) -> None:
    card = await new_card(server, world)
    lines = [
        {"card_id": str(card.id), "amount": 19.99, "merchant": "盒马鲜生"},
        {"pan": card.pan, "amount": "7", "merchant": "中国石化", "merchant_category": "fuel"},
    ]
    common = {"merchant_category": "grocery", "channel": "mobile", "time": "2026-04-02T08:00:00Z"}
    text = "\n".join(json.dumps({**common, **line}, ensure_ascii=False) for line in lines)
    summary = await run_import(server, text + "\n\n", FileFormat.JSONL)
    assert (summary.read, summary.imported, summary.rejected) == (2, 2, 0)
    assert sorted(r.amount_cents for r in await stored(server, card)) == [700, 1999]


async def test_every_kind_of_bad_csv_row_is_reported_with_its_line_and_the_rest_is_imported(
    server: Server, world: World
) -> None:
    card = await new_card(server, world)
    good = str(card.id)
    text = HEADER + "".join(
        [
            csv_line(card=good, reference="ok-2"),  # line 2: fine
            csv_line(),  # 3
            csv_line(card=good, pan=card.pan),  # 4
            csv_line(card="not-a-card"),  # 5
            csv_line(card=str(uuid.uuid4())),  # 6
            csv_line(pan="6228480012345672"),  # 7: Luhn fails
            csv_line(pan=UNKNOWN_PAN),  # 8: valid, but no such card
            csv_line(card=good, amount="-5.00"),  # 9
            csv_line(card=good, amount="0.00"),  # 10
            csv_line(card=good, amount="1.005"),  # 11
            csv_line(card=good, amount="99999999.00"),  # 12
            csv_line(card=good, amount="1,000"),  # 13: a comma splits the row
            csv_line(card=good, amount="12abc"),  # 14
            csv_line(card=good, currency="RMB1"),  # 15
            csv_line(card=good, category="gambling"),  # 16
            csv_line(card=good, channel="telepathy"),  # 17
            csv_line(card=good, time="2026-05-01T12:30:00"),  # 18: naive
            csv_line(card=good, time="yesterday"),  # 19
            csv_line(card=good, time="2027-01-01T00:00:00+00:00"),  # 20: after NOW
            csv_line(card=good, merchant=""),  # 21
            csv_line(card=good, merchant="x" * 201),  # 22
            csv_line(card=good, reference="has space"),  # 23
            csv_line(card=good, time="1999-12-31T00:00:00Z"),  # 24
            csv_line(card=good, reference="ok-25"),  # 25: fine
        ]
    )
    summary = await run_import(server, text)
    assert (summary.read, summary.imported, summary.rejected) == (24, 2, 22)
    reasons = {problem.position: problem.reason for problem in summary.errors}
    expected = {
        3: "card_id or pan is missing",
        4: "not both",
        5: "card_id must be a card's UUID or its global ID",
        6: "names no card",
        7: "pan is not a valid card number",
        8: "no card has this card number",
        9: "amount must be positive",
        10: "amount must be more than 0",
        11: "at most 2 decimals",
        12: "amount is over 10000000.00",
        13: "has 10 fields but the header names 9",
        14: "amount must be a decimal number",
        15: "currency must be an ISO 4217 code",
        16: "merchant_category 'gambling' is not one of: dining, travel",
        17: "channel 'telepathy' is not one of: pos, online, mobile, atm",
        18: "time must carry a UTC offset",
        19: "time must be ISO 8601",
        20: "time is in the future",
        21: "merchant is missing",
        22: "merchant must be at most 200 characters",
        23: "reference must be 1 to 64 printable characters",
        24: "time is before 2000",
    }
    assert sorted(reasons) == sorted(expected)
    for line, fragment in expected.items():
        assert fragment in reasons[line], (line, reasons[line])
    assert [p.position for p in summary.errors] == sorted(reasons)
    assert all(card.pan not in problem.reason for problem in summary.errors)


async def test_bad_json_lines_are_reported_with_their_line(server: Server, world: World) -> None:
    card = await new_card(server, world)
    good = {
        "card_id": str(card.id),
        "amount": "5.00",
        "merchant": "美团",
        "merchant_category": "other",
        "channel": "mobile",
        "time": "2026-03-03T10:00:00+08:00",
    }
    text = "\n".join(
        [
            json.dumps(good),  # 1
            "{not json",  # 2
            "[1, 2]",  # 3
            json.dumps({**good, "merchant": True}),  # 4
            "",  # 5: blank, skipped
            json.dumps({**good, "amount": 5.001}),  # 6
        ]
    )
    summary = await run_import(server, text, FileFormat.JSONL)
    assert (summary.read, summary.imported, summary.rejected) == (5, 1, 4)
    assert [(p.position, p.reason) for p in summary.errors] == [
        (2, "is not valid JSON"),
        (3, "is not a JSON object"),
        (4, "merchant must be text"),
        (6, "amount must have at most 2 decimals"),
    ]


async def test_bytes_that_are_not_utf8_reject_only_their_row(server: Server, world: World) -> None:
    card = await new_card(server, world)
    body = HEADER + csv_line(card=str(card.id), merchant="caf\udce9", reference="bad")
    body += csv_line(card=str(card.id), reference="good")
    lines = CountingLines(io.BytesIO(body.encode("utf-8", errors="surrogateescape")))
    summary = await import_transactions(
        database=server.state.database,
        ring=server.state.key_ring,
        rows=csv_rows(lines),
        batch_rows=10,
        now=NOW,
    )
    assert [(p.position, p.reason) for p in summary.errors] == [(2, "merchant is not valid UTF-8")]
    assert summary.imported == 1
    assert lines.bytes_read == len(body.encode("utf-8", errors="surrogateescape"))


def test_a_csv_header_without_the_required_fields_is_refused_as_a_whole() -> None:
    with pytest.raises(TransactionFileError, match="missing: card_id or pan, merchant_category"):
        list(csv_rows(["amount,merchant,channel,time\n", "1,m,pos,2026-01-01T00:00:00Z\n"]))


def test_the_format_comes_from_the_extension() -> None:
    from pathlib import Path

    assert FileFormat.of(Path("feed.CSV")) is FileFormat.CSV
    assert FileFormat.of(Path("feed.jsonl")) is FileFormat.JSONL
    with pytest.raises(TransactionFileError, match="pass --format"):
        FileFormat.of(Path("feed.txt"))


# --- natural keys and re-runs ---------------------------------------------------------------


async def test_running_the_same_file_again_imports_nothing_twice(
    server: Server, world: World
) -> None:
    card = await new_card(server, world)
    text = HEADER + "".join(
        csv_line(card=str(card.id), amount=f"{n}.00", reference=f"R{n}" if n % 2 else "")
        for n in range(1, 8)
    )
    first = await run_import(server, text, batch_rows=3)
    again = await run_import(server, text, batch_rows=3)
    assert (first.imported, first.duplicates) == (7, 0)
    assert (again.imported, again.duplicates, again.rejected) == (0, 7, 0)
    assert len(await stored(server, card)) == 7


async def test_a_transaction_sent_by_pan_and_by_card_id_is_one_transaction(
    server: Server, world: World
) -> None:
    card = await new_card(server, world)
    summary = await run_import(
        server, HEADER + csv_line(pan=card.pan) + csv_line(card=to_global_id("Card", card.id))
    )
    assert (summary.imported, summary.duplicates) == (1, 1)


async def test_a_reference_identifies_a_transaction_even_when_its_details_are_corrected(
    server: Server, world: World
) -> None:
    card = await new_card(server, world)
    first = await run_import(server, HEADER + csv_line(card=str(card.id), reference="N-1"))
    corrected = HEADER + csv_line(card=str(card.id), merchant="星巴克臻选", reference="N-1")
    second = await run_import(server, corrected)
    twins = HEADER + csv_line(card=str(card.id), reference="N-2")
    twins += csv_line(card=str(card.id), reference="N-3")
    third = await run_import(server, twins)
    assert (first.imported, second.imported, second.duplicates, third.imported) == (1, 0, 1, 2)
    assert [r.merchant_name for r in await stored(server, card)] == ["星巴克"] * 3


def test_the_natural_key_depends_on_card_and_reference_or_on_the_whole_content() -> None:
    card_id = uuid.uuid4()
    row = check_row(raw(card_id=str(card_id), reference="R-9"), now=NOW)
    renamed = check_row(raw(card_id=str(card_id), reference="R-9", merchant="other"), now=NOW)
    assert natural_key(card_id, row) == natural_key(card_id, renamed)
    assert natural_key(card_id, row) != natural_key(uuid.uuid4(), row)
    plain = check_row(raw(card_id=str(card_id)), now=NOW)
    same_moment = check_row(raw(card_id=str(card_id), time="2026-05-01T08:00:00+08:00"), now=NOW)
    dearer = check_row(raw(card_id=str(card_id), amount="10.01"), now=NOW)
    assert natural_key(card_id, plain) == natural_key(card_id, same_moment)
    assert natural_key(card_id, plain) != natural_key(card_id, dearer)
    assert len(natural_key(card_id, plain)) <= 128


# --- batches --------------------------------------------------------------------------------


async def test_batches_commit_separately_with_one_card_lookup_each_and_errors_in_line_order(
    server: Server, world: World
) -> None:
    card, other = await new_card(server, world), await new_card(server, world)
    text = HEADER + "".join(
        [
            csv_line(card=str(card.id), reference="B1"),  # 2
            csv_line(card=str(uuid.uuid4()), reference="B2"),  # 3: unknown, found at write
            csv_line(card=str(card.id), amount="x"),  # 4: refused while reading
            csv_line(pan=other.pan, reference="B4"),  # 5
            csv_line(card=str(other.id), reference="B5"),  # 6
            csv_line(card=str(card.id), reference="B6"),  # 7
            csv_line(card=str(card.id), reference="B6"),  # 8: the same as line 7
        ]
    )
    batches: list[int] = []
    before = server.state.database.statements_executed
    summary = await run_import_with_progress(server, text, batches)
    statements = server.state.database.statements_executed - before
    assert batches == [3, 6, 7]  # rows read when each batch of 3 was committed
    # Per batch one card lookup, then the new rows in power-of-two chunks: 1, 2 + 1 and 1.
    assert statements == 3 + 4
    assert (summary.imported, summary.duplicates, summary.rejected) == (4, 1, 2)
    assert [p.position for p in summary.errors] == [3, 4]
    assert "names no card" in summary.errors[0].reason
    assert "amount must be a decimal number" in summary.errors[1].reason
    assert len(await stored(server, card, other)) == 4


async def run_import_with_progress(server: Server, text: str, batches: list[int]) -> ImportSummary:
    return await import_transactions(
        database=server.state.database,
        ring=server.state.key_ring,
        rows=csv_rows(CountingLines(io.BytesIO(text.encode()))),
        batch_rows=3,
        on_batch=lambda summary: batches.append(summary.read),
        now=NOW,
    )


async def test_only_the_first_bad_rows_are_kept_in_detail_and_the_rest_are_counted(
    server: Server, world: World
) -> None:
    text = HEADER + csv_line() * 30
    summary = await import_transactions(
        database=server.state.database,
        ring=server.state.key_ring,
        rows=csv_rows(CountingLines(io.BytesIO(text.encode()))),
        batch_rows=4,
        max_errors=5,
        now=NOW,
    )
    assert (summary.rejected, summary.errors_not_shown) == (30, 25)
    assert [p.position for p in summary.errors] == [2, 3, 4, 5, 6]


# --- the amount parser ----------------------------------------------------------------------


@given(st.integers(min_value=1, max_value=MAX_AMOUNT_CENTS))
def test_formatting_cents_and_parsing_them_back_is_the_identity(cents: int) -> None:
    assert parse_amount(yuan_text(cents)) == cents


@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000000"), places=2, allow_nan=False)
)
def test_any_decimal_of_at_most_two_places_parses_to_its_value_in_cents(amount: Decimal) -> None:
    assert parse_amount(str(amount)) == int(amount * 100)
    assert parse_amount(f"{amount:f}".rstrip("0").rstrip(".") or "0") == int(amount * 100)


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3))
def test_a_third_decimal_place_is_refused_even_when_it_is_zero(amount: Decimal) -> None:
    with pytest.raises(RowError, match="at most 2 decimals"):
        parse_amount(f"{amount:.3f}")


def test_checked_rows_carry_their_position_and_an_upper_cased_currency() -> None:
    row = check_row(RawRow(41, {**raw().fields, "currency": " hkd "}), now=NOW)
    assert isinstance(row, CheckedRow)
    assert (row.position, row.currency) == (41, "HKD")


def test_jsonl_rows_number_lines_from_one() -> None:
    rows = list(jsonl_rows(["{}\n", "\n", "{}\n"]))
    assert [row.position for row in rows] == [1, 3]


async def test_a_file_with_only_a_header_imports_nothing(server: Server) -> None:
    before = server.state.database.statements_executed
    summary = await run_import(server, HEADER)
    assert summary == ImportSummary()
    assert server.state.database.statements_executed == before


async def test_a_batch_naming_more_cards_than_a_lookup_holds_is_looked_up_in_chunks(
    server: Server, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transaction_import, "LOOKUP_CHUNK", 1)
    first, second = await new_card(server, world), await new_card(server, world)
    text = HEADER + csv_line(card=str(first.id)) + csv_line(card=str(second.id))
    text += csv_line(pan=second.pan, amount="1.00")
    before = server.state.database.statements_executed
    summary = await run_import(server, text)
    assert (summary.imported, summary.rejected) == (3, 0)
    assert server.state.database.statements_executed - before == 2 + 2  # 3 rows go in as 2 + 1


def test_statement_shapes_are_few_in_lists_are_padded_and_rows_go_in_power_of_two_chunks() -> None:
    assert [len(chunk) for chunk in _chunks(list(range(1000)))] == [512, 256, 128, 64, 32, 8]
    assert [len(chunk) for chunk in _chunks(list(range(1030)))] == [512, 512, 4, 2]
    assert [item for chunk in _chunks(list(range(7))) for item in chunk] == list(range(7))
    assert _padded([1, 2, 3]) == [1, 2, 3, 3]
    assert _padded([1, 2, 3, 4]) == [1, 2, 3, 4]
    assert _padded([]) == []
