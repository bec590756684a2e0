"""The deadline of a request's operation: kept even when the operation cannot be stopped.

A driver waiting on a database that does not answer may hold a cancelled statement until the
server replies; the caller is answered at the deadline all the same (``api.deadline``)."""

from __future__ import annotations

import asyncio
import time

import pytest

from api.deadline import CANCEL_GRACE_SECONDS, Overrun, run_within

DEADLINE = 0.2


async def _answers(value: str) -> str:
    await asyncio.sleep(0)
    return value


async def _stops_when_cancelled() -> str:
    await asyncio.sleep(60)
    return "never"


async def _will_not_stop(release: asyncio.Event) -> str:
    """Like a statement the database has not answered: a cancellation waits for it."""
    while True:
        try:
            await release.wait()
            return "late"
        except asyncio.CancelledError:
            continue


async def _own_timeout() -> str:
    async with asyncio.timeout(0):
        await asyncio.sleep(1)
    return "never"


async def test_an_operation_within_the_deadline_gives_its_answer() -> None:
    assert await run_within(_answers("ok"), DEADLINE) == "ok"


async def test_an_operation_that_stops_when_cancelled_is_an_overrun_not_stuck() -> None:
    started = time.monotonic()
    assert await run_within(_stops_when_cancelled(), DEADLINE) == Overrun(stuck=False)
    assert time.monotonic() - started < DEADLINE + CANCEL_GRACE_SECONDS


async def test_an_operation_that_cannot_be_stopped_is_left_behind_and_the_caller_answered() -> None:
    release = asyncio.Event()
    started = time.monotonic()

    outcome = await run_within(_will_not_stop(release), DEADLINE)

    assert outcome == Overrun(stuck=True)
    assert time.monotonic() - started < DEADLINE + CANCEL_GRACE_SECONDS + 0.2
    release.set()  # the database answers at last: the operation ends by itself
    await asyncio.sleep(0.05)


async def test_an_operations_own_timeout_is_its_error_not_the_deadline() -> None:
    with pytest.raises(TimeoutError):
        await run_within(_own_timeout(), 5.0)
