"""Reading transaction files: CSV with a header row, or JSON Lines, streamed line by line.

Each row comes out as a ``RawRow`` with its line number, for ``check_row`` to judge. A line
that cannot even be read as a row (bad JSON, a wrong number of CSV fields, bytes that are not
UTF-8) becomes a row carrying its problem, so it is reported like any other bad row and the
rest of the file goes on. Only a file that cannot be imported at all (no usable CSV header,
an unknown format) raises ``TransactionFileError``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from resolvers.transaction_rows import FIELDS, REQUIRED_FIELDS, RawRow


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


class CountingLines:
    """The lines of a binary stream as text, counting the bytes read (for a progress bar).

    Bytes that are not UTF-8 are kept as surrogates, so a bad byte rejects only its row
    (``check_row`` reports it) instead of aborting the file. A UTF-8 byte-order mark is dropped.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        first = True
        for line in self._stream:
            self.bytes_read += len(line)
            if first and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            first = False
            yield line.decode("utf-8", errors="surrogateescape")


def csv_rows(lines: Iterable[str]) -> Iterator[RawRow]:
    """Rows of a CSV file whose first line names the fields; positions are file lines."""
    reader = csv.reader(lines)
    header = [name.strip().lower() for name in next(reader, [])]
    _check_header(header)
    last_line = reader.line_num
    while True:
        problem: str | None = None
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # the reader starts afresh on the next line
            cells, problem = [], f"is not valid CSV ({exc})"
        position, last_line = last_line + 1, reader.line_num
        if problem is None and not cells:
            continue  # a blank line
        if problem is None and len(cells) != len(header):
            problem = f"has {len(cells)} fields but the header names {len(header)}"
        if problem is not None:
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
            + f" (currency and reference optional); missing: {', '.join(missing)}"
        )


def file_rows(lines: Iterable[str], file_format: FileFormat) -> Iterator[RawRow]:
    return csv_rows(lines) if file_format is FileFormat.CSV else jsonl_rows(lines)


def jsonl_rows(lines: Iterable[str]) -> Iterator[RawRow]:
    """Rows of a JSON Lines file, one object per line; numbers keep their exact text."""
    for position, line in enumerate(lines, start=1):
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
