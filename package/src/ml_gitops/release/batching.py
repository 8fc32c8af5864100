"""Adaptive micro-batching: concurrent requests scored together, in one call of the model.

A model call costs about the same for one row as for sixty-four, so requests that arrive together are scored
together. Each request joins a queue; one scorer takes what is queued whenever the model is free (as Triton's
dynamic batcher forms a batch when a model instance becomes free) and scores it on a thread of its own, so that
the event loop keeps reading and validating the next requests meanwhile; a lone request, with nothing else to do
meanwhile, is scored on the event loop itself (a hand-off between threads costs a wake-up, which on a busy machine
can cost more than the call). Before it cuts a batch the scorer may
wait, never longer than `wait_seconds` after the first queued request arrived, but only for a request worth
waiting for (as BentoML's dispatcher does): one still sending its body, or the next one when requests have lately
come closer together than a model call takes (so one more costs less waiting than a call of its own). A lone
request, or requests one after another, are scored at once. A batch holds whole requests and at most `max_rows`
rows; a larger request is scored alone.

When a batch's call raises, each of its requests is scored alone, so that only the request whose rows make the
model fail gets the error; its neighbours get their answers.

At the first request, what is alive (modules, the model, the app) is the service's startup state, and it is
frozen out of the garbage collector's sight (`gc.freeze`): otherwise each full collection under traffic scans the
millions of objects of scikit-learn, pandas and scipy, a pause of every request in flight (2 full collections of
219 ms at most, against 10 ms frozen, in 2,000 one-row requests from 32 clients on a loaded host). `close`
unfreezes them.
"""

import asyncio
import gc
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from . import threads
from .limits import positive

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class BatchSettings:
    max_rows: int = 256
    wait_seconds: float = 0.010

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "BatchSettings":
        """SERVE_BATCH_ROWS (rows scored in one call at most; 1 turns batching off) and SERVE_BATCH_WAIT_MS (the
        longest a batch waits for requests still arriving); unset: the defaults. Anything but a positive number is
        refused with one line."""
        wait_ms = positive(environ, "SERVE_BATCH_WAIT_MS", float, cls.wait_seconds * 1000)
        return cls(positive(environ, "SERVE_BATCH_ROWS", int, cls.max_rows), wait_ms / 1000)


@dataclass
class Counts:
    """What /health shows of the batching: model calls made, and the requests and rows they scored."""

    calls: int = 0
    requests: int = 0
    rows: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"calls": self.calls, "requests": self.requests, "rows": self.rows}


@dataclass
class _Waiting(Generic[Item]):
    item: Item
    rows: int
    answer: asyncio.Future = field(repr=False)
    arrived: float = 0.0


class _Average:
    """An exponentially weighted moving average (the newest value weighs `weight`)."""

    def __init__(self, first: float, weight: float = 0.2) -> None:
        self.value, self.weight = first, weight

    def add(self, value: float) -> None:
        self.value += self.weight * (value - self.value)


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _deliver(batch: list[_Waiting], results: Sequence[Any]) -> None:
    for waiting, result in zip(batch, results, strict=True):
        if waiting.answer.done():  # its caller went away
            continue
        if isinstance(result, _Failed):
            waiting.answer.set_exception(result.error)
        else:
            waiting.answer.set_result(result)


class Batcher(Generic[Item, Result]):
    """Score items (requests) in batches: `score` takes a list of items and returns one result per item."""

    def __init__(
        self,
        score: Callable[[list[Item]], Sequence[Result]],
        rows: Callable[[Item], int],
        settings: BatchSettings,
        arriving: Callable[[], int] = lambda: 0,
    ) -> None:
        self._score, self._rows, self.settings, self._arriving = score, rows, settings, arriving
        self._queue: deque[_Waiting[Item]] = deque()
        self._joined: asyncio.Future | None = (
            None  # set when a request joins the queue while the scorer waits
        )
        self._scorer: asyncio.Task | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="model", initializer=threads.one_thread)
        self.counts = Counts()
        self._gap = _Average(1.0)  # seconds between two requests' arrivals, lately (at most 1)
        self._call = _Average(0.0)  # seconds a model call takes, lately
        self._last_arrival = float("-inf")
        self._limited: set[int] = set()  # the threads that called threads.one_thread()
        self._frozen = False  # the startup state frozen out of the garbage collector's sight

    async def answer(self, item: Item) -> Result:
        """The item's result once its batch is scored; its own error if scoring it raised."""
        if not self._frozen:
            gc.freeze()
            self._frozen = True
        loop = asyncio.get_running_loop()
        waiting = _Waiting(item, self._rows(item), loop.create_future(), loop.time())
        self._gap.add(min(waiting.arrived - self._last_arrival, 1.0))
        self._last_arrival = waiting.arrived
        self._queue.append(waiting)
        if self._joined is not None and not self._joined.done():
            self._joined.set_result(None)
        if self._scorer is None or self._scorer.done():
            self._scorer = loop.create_task(self._score_queue())
        return await waiting.answer

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        if self._frozen:
            gc.unfreeze()

    async def _score_queue(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            await self._gather()
            batch = self._cut()
            items = [waiting.item for waiting in batch]
            if self._queue or self._arriving() or len(batch) > 1:
                try:
                    results = await loop.run_in_executor(self._thread, self._score_batch, items)
                except Exception as error:  # the model's thread is gone (the service is stopping)
                    results = [_Failed(error)] * len(batch)
            else:  # a lone request: scored at once on the event loop, which has nothing else to do
                self._limit_threads()
                results = self._score_batch(items)
            _deliver(batch, results)

    def _limit_threads(self) -> None:
        """One native thread for the calls made on the event loop's thread too (once per thread: it costs)."""
        if threading.get_ident() not in self._limited:
            threads.one_thread()
            self._limited.add(threading.get_ident())

    async def _gather(self) -> None:
        """Let requests already read join, then wait for those worth waiting for (see the module's docstring)."""
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        deadline = self._queue[0].arrived + self.settings.wait_seconds
        while self._queued_rows() < self.settings.max_rows:
            patience = min(deadline - loop.time(), float("inf") if self._arriving() else self._next_worth())
            if patience <= 0:
                return
            self._joined = loop.create_future()
            try:
                await asyncio.wait_for(self._joined, patience)
            except TimeoutError:
                return
            finally:
                self._joined = None

    def _next_worth(self) -> float:
        """How long the next request is worth waiting for: twice the recent gap between arrivals when that is
        shorter than a model call, else not at all."""
        return 2 * self._gap.value if self._gap.value < self._call.value else 0.0

    def _queued_rows(self) -> int:
        return sum(waiting.rows for waiting in self._queue)

    def _cut(self) -> list[_Waiting[Item]]:
        """The requests first in the queue, at most `max_rows` rows (always at least one request)."""
        batch = [self._queue.popleft()]
        rows = batch[0].rows
        while self._queue and rows + self._queue[0].rows <= self.settings.max_rows:
            rows += self._queue[0].rows
            batch.append(self._queue.popleft())
        return batch

    def _score_batch(self, items: list[Item]) -> list[Any]:
        """On the model's thread: the batch in one call; if that raises, each item alone."""
        try:
            return self._counted(items)
        except Exception as error:
            if len(items) == 1:
                return [_Failed(error)]
        return [self._score_alone(item) for item in items]

    def _score_alone(self, item: Item) -> Any:
        try:
            return self._counted([item])[0]
        except Exception as error:
            return _Failed(error)

    def _counted(self, items: list[Item]) -> list[Result]:
        self.counts.calls += 1
        started = time.perf_counter()
        results = list(self._score(items))
        self._call.add(time.perf_counter() - started)
        self.counts.requests += len(items)
        self.counts.rows += sum(map(self._rows, items))
        return results
