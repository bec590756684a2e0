"""Local days counted by the database (``resolvers.merchants.days``): the SQL day of a UTC
moment is its date in the zone, on SQLite and PostgreSQL, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import literal, select

from models.columns import UTCDateTime
from resolvers.merchants.days import LocalDays
from tests.conftest import Server

SHANGHAI, BERLIN, NEW_YORK = (
    ZoneInfo(z) for z in ("Asia/Shanghai", "Europe/Berlin", "America/New_York")
)


def test_shanghai_days_have_one_offset_and_begin_at_16_utc() -> None:
    days = LocalDays(SHANGHAI, date(2025, 3, 1), date(2025, 3, 3))

    assert days.offsets == [(int(days.start.timestamp()), 8 * 3600)]
    assert days.start == datetime(2025, 2, 28, 16, tzinfo=UTC)
    assert days.end == datetime(2025, 3, 3, 16, tzinfo=UTC)
    assert list(days) == [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)]


def test_berlins_summer_time_changes_are_found_to_the_second() -> None:
    days = LocalDays(BERLIN, date(2025, 1, 1), date(2025, 12, 31))

    changes = [(datetime.fromtimestamp(at, UTC), offset) for at, offset in days.offsets[1:]]

    assert changes == [
        (datetime(2025, 3, 30, 1, tzinfo=UTC), 7200),
        (datetime(2025, 10, 26, 1, tzinfo=UTC), 3600),
    ]


@settings(max_examples=100, deadline=None)
@given(
    zone=st.sampled_from([SHANGHAI, BERLIN, NEW_YORK]),
    moment=st.datetimes(
        min_value=datetime(2025, 1, 2), max_value=datetime(2025, 12, 30), timezones=st.just(UTC)
    ),
)
def test_every_moment_lies_in_the_piece_whose_offset_gives_its_local_date(
    zone: ZoneInfo, moment: datetime
) -> None:
    days = LocalDays(zone, date(2025, 1, 1), date(2025, 12, 31))
    second = int(moment.timestamp())
    offset = [o for since, o in days.offsets if since <= second][-1]

    assert LocalDays.date_of((second + offset) // 86_400) == moment.astimezone(zone).date()


def _edges(zone: ZoneInfo) -> list[datetime]:
    """Moments a second either side of local midnights and of the offset changes."""
    days = LocalDays(zone, date(2025, 3, 28), date(2025, 11, 3))
    instants = [datetime.fromtimestamp(at, UTC) for at, _ in days.offsets[1:]]
    for day in (date(2025, 3, 29), date(2025, 3, 31), date(2025, 10, 27), date(2025, 11, 2)):
        instants.append(datetime.combine(day, datetime.min.time(), zone).astimezone(UTC))
    return [i + timedelta(seconds=s) for i in instants for s in (-1, 0, 1)]


@pytest.mark.parametrize("zone", [SHANGHAI, BERLIN, NEW_YORK], ids=str)
async def test_the_database_puts_each_moment_on_its_local_date(
    server: Server, zone: ZoneInfo
) -> None:
    days = LocalDays(zone, date(2025, 3, 28), date(2025, 11, 3))
    moments = _edges(zone)
    columns = [days.day_of(literal(moment, UTCDateTime())) for moment in moments]

    async with server.state.database.session() as session:
        row = (await session.execute(select(*columns))).one()

    assert [LocalDays.date_of(n) for n in row] == [m.astimezone(zone).date() for m in moments]
