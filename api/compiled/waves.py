"""Runs one wave of a plan's awaitables together without a Task for each.

``asyncio.gather`` wraps every coroutine in a Task: about a hundred a page of customers (a
tier and the cards of each), each created, scheduled, stepped and called back through the
event loop. This drives the coroutines itself, as a Task would: it steps each one until it
waits on a future (a DataLoader's load, a lock, a query), waits for those futures together,
and resumes each coroutine with its future's outcome. The first steps of all the wave's
coroutines run before anything waits, so a DataLoader still sees every key of the page in
one batch.

Each coroutine's outcome (its value, or the exception it raised) comes back in wave order.
Cancelling the wave reaches each coroutine as it would in a Task of its own (``cancel_waiting``)
and is re-raised once they have settled; a wave that stops on an error closes the coroutines
it still holds, so their ``finally`` blocks run.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Coroutine, Sequence
from typing import Any

_UNSET: Any = object()


class _Wave:
    def __init__(self, size: int) -> None:
        self.outcomes: list[Any] = [_UNSET] * size
        self.waiting: dict[int, tuple[Coroutine[Any, Any, Any] | None, asyncio.Future[Any]]] = {}

    def advance(
        self, index: int, coroutine: Coroutine[Any, Any, Any], future: asyncio.Future[Any] | None
    ) -> None:
        """Steps ``coroutine`` with ``future``'s outcome until it waits again or finishes."""
        try:  # as Task.__wakeup does: None to go on (the await reads the result), or the error
            if future is None or (not future.cancelled() and future.exception() is None):
                yielded = coroutine.send(None)
            else:
                error = asyncio.CancelledError() if future.cancelled() else future.exception()
                yielded = coroutine.throw(error)  # type: ignore[arg-type]
        except StopIteration as finished:
            self.outcomes[index] = finished.value
            return
        except (Exception, asyncio.CancelledError) as error:  # a resolver's failure: its outcome
            self.outcomes[index] = error
            return
        self.waiting[index] = (coroutine, self._future_of(coroutine, yielded))

    @staticmethod
    def _future_of(coroutine: Coroutine[Any, Any, Any], yielded: Any) -> asyncio.Future[Any]:
        if yielded is None:  # a bare yield (``asyncio.sleep(0)``): resume on the next round
            ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            ready.set_result(None)
            return ready
        if not asyncio.isfuture(yielded) or not yielded._asyncio_future_blocking:
            coroutine.close()
            raise RuntimeError(f"a resolver yielded {type(yielded).__name__}, not a future")
        yielded._asyncio_future_blocking = False  # what Task does before it waits on it
        return yielded

    def settle(self, index: int, future: asyncio.Future[Any]) -> None:
        self.outcomes[index] = (
            asyncio.CancelledError() if future.cancelled() else future.exception()
        ) or future.result()

    def cancel_waiting(self) -> None:
        """Delivers a cancellation of the Task running the wave as ``Task.cancel`` would: each
        coroutine's awaited future is cancelled and the coroutine resumed with CancelledError.
        The cancellation may be a coroutine's own: to ``asyncio.timeout`` (asyncpg's connect
        timeout uses it) the running Task is the wave's, so its expiry cancels the wave; the
        coroutine's timeout then takes the error back (``uncancel``) and raises TimeoutError,
        which becomes that coroutine's outcome. A cancellation nobody took back is re-raised
        once the wave has settled."""
        for _, future in self.waiting.values():
            future.cancel()

    def close(self) -> None:
        for coroutine, _ in self.waiting.values():
            if coroutine is not None:
                coroutine.close()
        self.waiting.clear()


async def run_wave(awaitables: Sequence[Awaitable[Any]]) -> list[Any]:
    """The outcome of each awaitable, in order: its value or the exception it raised."""
    wave = _Wave(len(awaitables))
    task = asyncio.current_task()
    assert task is not None
    cancelled_before = task.cancelling()
    try:
        for index, awaitable in enumerate(awaitables):
            if inspect.iscoroutine(awaitable):
                wave.advance(index, awaitable, None)
            else:
                wave.waiting[index] = (None, asyncio.ensure_future(awaitable))
        while wave.waiting:
            futures = {future for _, future in wave.waiting.values()}
            try:
                await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                wave.cancel_waiting()
            for index, (coroutine, future) in list(wave.waiting.items()):
                if future.done():
                    del wave.waiting[index]
                    if coroutine is None:
                        wave.settle(index, future)
                    else:
                        wave.advance(index, coroutine, future)
        if task.cancelling() > cancelled_before:  # not only a coroutine's own timeout: ours
            raise asyncio.CancelledError
        return wave.outcomes
    finally:
        wave.close()
