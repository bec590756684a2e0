"""Calendar days in the bank's time zone (``settings.contact_timezone``), counted in SQL.

Merchant statistics are by *local* day: a redemption at 07:30 in Shanghai belongs to that
morning's date, not to the previous UTC day. The database groups rows by the local day
number (days since 1970-01-01 of the local date), computed as
``floor((epoch seconds of ts + the zone's UTC offset at ts) / 86400)``.

The offset at ``ts`` comes from ``zoneinfo``: for the requested days this module finds every
offset change (daylight-saving transitions, to the second) and hands the database a CASE over
those instants, so the same statement is right on SQLite — which knows no time zones — and
on PostgreSQL, and for zones with or without daylight saving. Asia/Shanghai has one offset,
so its CASE is the constant 28800.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, case, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

SECONDS_PER_DAY = 86_400
EPOCH_DAY = date(1970, 1, 1)


class local_day_number(FunctionElement[int]):
    """``local_day_number(ts, offset_seconds)``: the day number of ``ts`` shifted by the
    offset; the SQL is chosen per dialect when the statement is compiled."""

    type = Integer()
    inherit_cache = True
    name = "local_day_number"


@compiles(local_day_number)
def _local_day_number_postgresql(
    element: local_day_number, compiler: SQLCompiler, **kw: Any
) -> str:
    ts, offset = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(FLOOR((EXTRACT(EPOCH FROM {ts}) + {offset}) / {SECONDS_PER_DAY}) AS INTEGER)"


@compiles(local_day_number, "sqlite")
def _local_day_number_sqlite(element: local_day_number, compiler: SQLCompiler, **kw: Any) -> str:
    # UTC timestamps are stored naive; strftime('%s') reads them as UTC. Integer division
    # floors here because every epoch second since 1970 is positive.
    ts, offset = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"((CAST(strftime('%s', {ts}) AS INTEGER) + {offset}) / {SECONDS_PER_DAY})"


def _offset_seconds(zone: ZoneInfo, epoch_seconds: int) -> int:
    offset = datetime.fromtimestamp(epoch_seconds, UTC).astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _midnight(zone: ZoneInfo, day: date) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


@dataclass(frozen=True)
class LocalDays:
    """The local days ``first`` to ``last`` (both included) of ``zone``."""

    zone: ZoneInfo
    first: date
    last: date

    @property
    def start(self) -> datetime:
        """The UTC instant the first day begins."""
        return _midnight(self.zone, self.first)

    @property
    def end(self) -> datetime:
        """The UTC instant the last day ends (exclusive)."""
        return _midnight(self.zone, self.last + timedelta(days=1))

    def __iter__(self) -> Iterator[date]:
        for n in range((self.last - self.first).days + 1):
            yield self.first + timedelta(days=n)

    @cached_property
    def offsets(self) -> list[tuple[int, int]]:
        """``(from epoch second, UTC offset)`` pieces covering ``[start, end)``."""
        start, end = int(self.start.timestamp()), int(self.end.timestamp())
        pieces = [(start, _offset_seconds(self.zone, start))]
        probe = start
        while probe < end:
            step = min(probe + SECONDS_PER_DAY, end)
            if _offset_seconds(self.zone, step) != pieces[-1][1]:
                changed = self._change_between(probe, step, pieces[-1][1])
                pieces.append((changed, _offset_seconds(self.zone, changed)))
            probe = step
        return pieces

    def _change_between(self, before: int, after: int, offset: int) -> int:
        """The first second in ``(before, after]`` whose offset is no longer ``offset``."""
        while after - before > 1:
            middle = (before + after) // 2
            if _offset_seconds(self.zone, middle) == offset:
                before = middle
            else:
                after = middle
        return after

    def day_of(self, timestamp: Any) -> ColumnElement[int]:
        """SQL: the local day number of a UTC timestamp column inside these days."""
        first_offset = self.offsets[0][1]
        if len(self.offsets) == 1:
            offset: Any = literal_column(str(first_offset))
        else:
            whens: list[tuple[Any, Any]] = [
                (timestamp < datetime.fromtimestamp(since, UTC), literal_column(str(previous)))
                for (_, previous), (since, _) in zip(self.offsets, self.offsets[1:], strict=False)
            ]
            offset = case(*whens, else_=literal_column(str(self.offsets[-1][1])))
        return local_day_number(timestamp, offset)

    @staticmethod
    def date_of(day_number: int) -> date:
        return EPOCH_DAY + timedelta(days=int(day_number))
