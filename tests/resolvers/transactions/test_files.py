"""Reading transaction files line by line: one line is one row, whatever its quotes.

Given a CSV or JSON Lines file with a stray quote, a field that spans lines, a line far too
long or a broken header, when it is read, then each bad line becomes a row carrying its
problem (or, for the header, the whole file is refused with a message), every other line is
read as before, and the lines counted are the file's lines.
"""

from __future__ import annotations

import io
import re

import pytest

from resolvers.transactions.files import (
    MAX_LINE_BYTES,
    CountingLines,
    FileFormat,
    TransactionFileError,
    file_rows,
)
from resolvers.transactions.rows import RawRow

HEADER = "card_id,amount,merchant,merchant_category,channel,time\n"
ROW = "c-{n},1.00,m,dining,pos,2026-01-01T00:00:00Z\n"
SPANS = "has a quoted field that is still open at the end of the line"


def read(text: str | bytes, file_format: FileFormat = FileFormat.CSV) -> tuple[list[RawRow], int]:
    """The rows read and the number of lines counted."""
    lines = CountingLines(io.BytesIO(text.encode() if isinstance(text, str) else text))
    return list(file_rows(lines, file_format)), lines.lines_read


def test_a_stray_quote_rejects_its_line_and_the_next_lines_are_rows_again() -> None:
    text = HEADER + ROW.format(n=2) + '"oops\n' + "".join(ROW.format(n=n) for n in range(4, 44))
    rows, lines = read(text)
    assert lines == 43
    assert [row.position for row in rows] == list(range(2, 44))
    assert rows[1].problem is not None
    assert rows[1].problem.startswith(SPANS)
    assert [row.fields["card_id"] for row in rows if row.problem is None] == [
        f"c-{n}" for n in [2, *range(4, 44)]
    ]


def test_quoted_fields_may_hold_commas_and_doubled_quotes_but_not_a_line_break() -> None:
    text = (
        HEADER
        + 'c-2,1.00,"星巴克, 国贸店",dining,pos,2026-01-01T00:00:00Z\n'
        + 'c-3,1.00,"the ""best"" café",dining,pos,2026-01-01T00:00:00Z\r\n'
        + 'c-4,1.00,"two\n'
        + 'lines",dining,pos,2026-01-01T00:00:00Z\n'
        + ROW.format(n=6)
    )
    rows, lines = read(text)
    assert lines == 6
    assert [(row.position, row.problem) for row in rows[:2]] == [(2, None), (3, None)]
    assert [rows[0].fields["merchant"], rows[1].fields["merchant"]] == [
        "星巴克, 国贸店",
        'the "best" café',
    ]
    assert rows[2].position == 4
    assert rows[2].problem is not None
    assert rows[2].problem.startswith(SPANS)
    assert (rows[3].position, rows[3].problem) == (5, "has 4 fields but the header names 6")
    assert (rows[4].position, rows[4].fields["card_id"]) == (6, "c-6")


def test_a_quote_left_open_on_the_last_line_is_rejected_with_that_line() -> None:
    rows, lines = read(HEADER + ROW.format(n=2) + 'c-3,"1.00')
    assert lines == 3
    assert rows[1].position == 3
    assert rows[1].problem is not None
    assert rows[1].problem.startswith(SPANS)


@pytest.mark.parametrize("file_format", list(FileFormat))
def test_a_line_over_the_bound_is_skipped_unread_and_rejected_alone(
    file_format: FileFormat,
) -> None:
    good = ROW.format(n=1) if file_format is FileFormat.CSV else '{"card_id": "c-1"}\n'
    head = HEADER if file_format is FileFormat.CSV else ""
    body = (head + good + "x" * (3 * MAX_LINE_BYTES) + "\n" + good).encode()
    lines = CountingLines(io.BytesIO(body))
    rows = list(file_rows(lines, file_format))
    first = 2 if file_format is FileFormat.CSV else 1
    assert [(row.position, row.problem) for row in rows] == [
        (first, None),
        (first + 1, f"is longer than {MAX_LINE_BYTES:,} bytes; no valid line is that long"),
        (first + 2, None),
    ]
    assert (lines.lines_read, lines.bytes_read) == (first + 2, len(body))


def test_a_line_just_within_the_bound_is_read() -> None:
    padding = MAX_LINE_BYTES - len(ROW.format(n=2))
    rows, _ = read(HEADER + ROW.format(n=2).replace("m,", "m" + " " * padding + ",", 1))
    assert rows[0].problem is None


@pytest.mark.parametrize(
    ("first_line", "message"),
    [
        (
            b"card_id,amount\rmerchant\n",
            "the header (line 1) has a carriage return inside the line",
        ),
        (b"card_id," + b"x" * 2 * MAX_LINE_BYTES + b"\n", "the header (line 1) is longer than"),
        (b'card_id,"amount\n', f"the header (line 1) {SPANS}"),
    ],
)
def test_a_header_line_that_cannot_be_read_refuses_the_file_with_a_message(
    first_line: bytes, message: str
) -> None:
    with pytest.raises(TransactionFileError, match=re.escape(message)):
        read(first_line + ROW.format(n=2).encode())
