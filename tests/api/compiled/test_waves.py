"""api.compiled.waves: a wave of coroutines run together, without a Task each."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from strawberry.dataloader import DataLoader

from api.compiled.waves import run_wave


async def test_a_dataloader_sees_every_key_of_the_wave_in_one_batch() -> None:
    batches: list[list[int]] = []

    async def load(keys: Sequence[int]) -> list[int]:
        batches.append(list(keys))
        await asyncio.sleep(0)
        return [key * 10 for key in keys]

    loader = DataLoader(load_fn=load)

    async def field(key: int) -> int:
        value = await loader.load(key)
        await asyncio.sleep(0)  # a bare yield on the way
        return value + 1

    assert await run_wave([field(key) for key in (1, 2, 3)]) == [11, 21, 31]
    assert batches == [[1, 2, 3]]


async def test_each_outcome_is_its_value_or_its_exception_in_wave_order() -> None:
    async def fine() -> str:
        await asyncio.sleep(0.01)
        return "fine"

    async def broken() -> str:
        await asyncio.sleep(0)
        raise ValueError("broken")

    future = asyncio.get_running_loop().create_future()
    future.set_result("ready")
    outcomes = await run_wave([fine(), broken(), future])
    assert outcomes[0] == "fine"
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] == "ready"


async def test_the_coroutines_run_in_the_callers_task_not_one_task_each() -> None:
    caller = asyncio.current_task()

    async def whose_task() -> asyncio.Task[object] | None:
        await asyncio.sleep(0)
        return asyncio.current_task()

    assert await run_wave([whose_task(), whose_task()]) == [caller, caller]


async def test_a_cancelled_wave_closes_the_coroutines_it_holds() -> None:
    cleaned: list[str] = []
    never = asyncio.get_running_loop().create_future()

    async def waits() -> None:
        try:
            await never
        finally:
            cleaned.append("closed")

    task = asyncio.create_task(run_wave([waits(), waits()]))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["closed", "closed"]


async def test_a_coroutine_waiting_on_anothers_lock_goes_on_once_it_is_released() -> None:
    """The wave resumes whatever is ready first: waiting for all its futures would deadlock
    two resolvers sharing the request's session gate."""
    gate = asyncio.Lock()

    async def holder() -> str:
        async with gate:
            await asyncio.sleep(0.01)
            return "held"

    async def waiter() -> str:
        async with gate:
            return "got it"

    assert await asyncio.wait_for(run_wave([holder(), waiter()]), 2) == ["held", "got it"]


async def test_a_coroutines_own_timeout_is_its_timeout_error_not_the_callers_cancellation() -> None:
    """asyncio.timeout cancels the running Task, which here is the caller's (asyncpg's connect
    timeout is one): the coroutine must get its TimeoutError and the caller go on."""
    never = asyncio.get_running_loop().create_future()

    async def times_out() -> str:
        async with asyncio.timeout(0.05):
            await never
        return "unreachable"

    async def fine() -> str:
        await asyncio.sleep(0.1)
        return "fine"

    outcomes = await asyncio.wait_for(run_wave([times_out(), fine()]), 2)
    assert isinstance(outcomes[0], TimeoutError)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_cancelled_wave_lets_its_coroutines_clean_up_then_is_cancelled() -> None:
    cleaned: list[str] = []
    never = asyncio.get_running_loop().create_future()

    async def waits() -> None:
        try:
            await never
        except asyncio.CancelledError:
            await asyncio.sleep(0.01)  # cleaning up may wait, as in a Task of its own
            cleaned.append("cleaned")
            raise

    task = asyncio.create_task(run_wave([waits(), waits()]))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["cleaned", "cleaned"]
