"""Reading transaction files: CSV with a header row, or JSON Lines, streamed line by line.

Each row comes out as a ``RawRow`` with its line number, for ``check_row`` to judge. A line
that cannot even be read as a row (bad JSON, a wrong number of CSV fields, bytes that are not
UTF-8, a line over ``MAX_LINE_BYTES``) becomes a row carrying its problem, so it is reported
like any other bad row and the rest of the file goes on. Only a file that cannot be imported
at all (no usable CSV header, an unknown format) raises ``TransactionFileError``.

One line is one row, in CSV too: a quoted field may hold commas and doubled quotes, but not a
line break. CSV allows a quoted field to span lines, and that is how one stray ``"`` used to
swallow every line after it into a single field; no transaction field has a line break in it
(``check_row`` refuses control characters in a merchant's name anyway), so a quoted field
still open at the end of its line rejects that line, and reading goes on at the next one.
Every line of the file is therefore a header, a blank line or a row, counted once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from resolvers.transactions.rows import FIELDS, REQUIRED_FIELDS, RawRow


class FileFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"

    @classmethod
    def of(cls, path: Path) -> FileFormat:
        """The format a file's extension names (.csv, .jsonl or .ndjson)."""
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return cls.CSV
        if suffix in (".jsonl", ".ndjson"):
            return cls.JSONL
        raise TransactionFileError(f"cannot tell the format of {path.name}: pass --format")


class TransactionFileError(ValueError):
    """The file as a whole cannot be imported (as opposed to one bad row)."""


# Far above any valid row (a merchant's name is at most 200 characters), and small enough
# that a file with no line breaks (a 50 MB blob, a CR-only export) is refused without ever
# holding more than this much of it.
MAX_LINE_BYTES = 64 * 1024
_SKIP_CHUNK = 64 * 1024
SPANS_LINES = (
    "has a quoted field that is still open at the end of the line "
    "(a missing closing quote? a field cannot span lines)"
)
TOO_LONG = f"is longer than {MAX_LINE_BYTES:,} bytes; no valid line is that long"


class OverlongLine(str):
    """Stands in for a line over ``MAX_LINE_BYTES``, whose text was skipped, not kept."""


class CountingLines:
    """The lines of a binary stream as text, counting the bytes and lines read.

    Bytes that are not UTF-8 are kept as surrogates, so a bad byte rejects only its row
    (``check_row`` reports it) instead of aborting the file. A UTF-8 byte-order mark is dropped.
    A line over ``MAX_LINE_BYTES`` is read past in chunks and comes out as an ``OverlongLine``.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.bytes_read = 0
        self.lines_read = 0

    def __iter__(self) -> Iterator[str]:
        readline = self._stream.readline
        while line := readline(MAX_LINE_BYTES + 1):
            self.bytes_read += len(line)
            self.lines_read += 1
            if len(line) > MAX_LINE_BYTES:
                self._skip_rest(line)
                yield OverlongLine()
                continue
            if self.lines_read == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            yield line.decode("utf-8", errors="surrogateescape")

    def _skip_rest(self, line: bytes) -> None:
        while not line.endswith(b"\n") and (line := self._stream.readline(_SKIP_CHUNK)):
            self.bytes_read += len(line)


class _LineProblem(Exception):
    """Raised into ``csv.reader`` by ``_OneLinePerRecord``: this line is not a row."""


class _OneLinePerRecord:
    """The lines for ``csv.reader``, refusing to hand it a second line for the same record.

    The reader asks for another line only while a quoted field is still open; that raises
    ``_LineProblem`` instead (the reader starts afresh on its next call), so the next line is
    read as a record of its own. ``next_record`` is called after each record the reader ends.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.line_number = 0
        self._handed = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._handed:
            raise _LineProblem(SPANS_LINES)
        line = next(self._lines)
        self.line_number += 1
        self._handed = True
        if isinstance(line, OverlongLine):
            raise _LineProblem(TOO_LONG)
        return line

    def next_record(self) -> None:
        self._handed = False


def _csv_problem(error: csv.Error) -> str:
    """The csv module's complaint in an operator's words (it speaks to programmers)."""
    text = str(error)
    if text.startswith("new-line character seen in unquoted field"):
        return "has a carriage return inside the line (a line ends with \\n or \\r\\n)"
    return f"is not valid CSV ({text})"


def _next_record(reader: Iterator[list[str]], lines: _OneLinePerRecord) -> list[str] | str | None:
    """The next record's cells, its problem, or None at the end of the file."""
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:  # the reader starts afresh on the next line
        return _csv_problem(exc)
    except _LineProblem as exc:
        return str(exc)
    finally:
        lines.next_record()


def csv_rows(
    lines: Iterable[str], check_header: Callable[[list[str]], None] | None = None
) -> Iterator[RawRow]:
    """Rows of a CSV file whose first line names the fields; positions are file lines.

    The header is read at once, so a file without a usable one is refused before anything
    else is done (``TransactionFileError``, from ``check_header``: a transaction file's by
    default; the customer import passes its own); the rows are read as they are asked for."""
    numbered = _OneLinePerRecord(lines)
    reader = csv.reader(numbered)
    first = _next_record(reader, numbered)
    if isinstance(first, str):
        raise TransactionFileError(f"the header (line 1) {first}")
    header = [name.strip().lower() for name in first or []]
    (check_header or _check_header)(header)
    return _csv_body(reader, numbered, header)


def _csv_body(
    reader: Iterator[list[str]], numbered: _OneLinePerRecord, header: list[str]
) -> Iterator[RawRow]:
    while (cells := _next_record(reader, numbered)) is not None:
        position = numbered.line_number
        if isinstance(cells, str):
            yield RawRow(position, {}, cells)
        elif not cells:
            continue  # a blank line
        elif len(cells) != len(header):
            problem = f"has {len(cells)} fields but the header names {len(header)}"
            yield RawRow(position, {}, problem)
        else:
            yield RawRow(position, dict(zip(header, cells, strict=True)))


def _check_header(header: list[str]) -> None:
    missing = [name for name in REQUIRED_FIELDS if name not in header]
    if "card_id" not in header and "pan" not in header:
        missing.insert(0, "card_id or pan")
    if missing:
        raise TransactionFileError(
            "the CSV header must name the fields "
            + ", ".join(FIELDS)
            + f" (currency, reference and kind optional); missing: {', '.join(missing)}"
        )


def file_rows(lines: Iterable[str], file_format: FileFormat) -> Iterator[RawRow]:
    return csv_rows(lines) if file_format is FileFormat.CSV else jsonl_rows(lines)


def jsonl_rows(lines: Iterable[str]) -> Iterator[RawRow]:
    """Rows of a JSON Lines file, one object per line; numbers keep their exact text."""
    for position, line in enumerate(lines, start=1):
        if isinstance(line, OverlongLine):
            yield RawRow(position, {}, TOO_LONG)
            continue
        if not line.strip():
            continue
        try:
            value = json.loads(line, parse_float=str, parse_int=str)
        except ValueError:
            yield RawRow(position, {}, "is not valid JSON")
            continue
        if not isinstance(value, dict):
            yield RawRow(position, {}, "is not a JSON object")
        else:
            yield RawRow(position, value)
