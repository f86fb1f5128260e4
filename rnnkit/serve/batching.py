"""Request batching: concurrent requests to one model method run as one padded batch.

Requests that arrive while a batch is being gathered (``batch_wait`` seconds after the first)
or while the model is busy are merged, in arrival order, up to ``max_batch`` items (a request
with more items than that runs alone); only requests with the same options merge (a translate
request with ``beam=1`` never shares a batch with one with ``beam=5``). The merged items go to the
predictor in one call, on the model's worker thread, and each request gets its own slice of the
results. Predictors pad batches with lengths, so a result does not depend on its neighbours.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from rnnkit.serve.errors import QueueFull, TimeLimit
from rnnkit.serve.settings import ServeSettings

#: the predictor call for a batch: (items, options) -> one result per item
BatchCall = Callable[[list[Any], dict[str, Any]], list[Any]]


@dataclass
class _Pending:
    items: list[Any]
    options: dict[str, Any]
    key: str
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Gathers requests for one model method and runs them in batches (see the module text).

    Args:
        name: the model's name (for errors).
        call: runs a batch; called on ``executor``.
        executor: the model's worker (one thread, so the model runs one batch at a time).
        settings: ``max_batch``, ``max_queue``, ``timeout``, ``batch_wait``.
    """

    def __init__(
        self, name: str, call: BatchCall, executor: Executor, settings: ServeSettings
    ) -> None:
        self.name, self.call, self.executor, self.settings = name, call, executor, settings
        self.pending: deque[_Pending] = deque()
        self.batches = 0  #: batches run so far (the tests read it)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def submit(self, items: list[Any], options: dict[str, Any]) -> list[Any]:
        """Results for ``items``, in order; ``QueueFull`` when ``max_queue`` requests wait,
        ``TimeLimit`` past ``timeout`` seconds."""
        if len(self.pending) >= self.settings.max_queue:
            raise QueueFull(self.name, self.settings.max_queue, self.settings.retry_after)
        if not items:
            return []
        loop = asyncio.get_running_loop()
        key = json.dumps(options, sort_keys=True)
        pending = _Pending(list(items), options, key, loop.create_future())
        self.pending.append(pending)
        self._start()
        self._wake.set()
        try:
            return await asyncio.wait_for(asyncio.shield(pending.future), self.settings.timeout)
        except asyncio.TimeoutError:  # the builtin TimeoutError only from Python 3.11
            if pending in self.pending:  # never started: it will not run
                self.pending.remove(pending)
            raise TimeLimit(self.settings.timeout) from None

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()  # bound to the loop that runs the task
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _take(self) -> list[_Pending]:
        """The oldest request and the later ones with its options, up to ``max_batch`` items."""
        first = self.pending.popleft()
        taken, size = [first], len(first.items)
        for other in list(self.pending):
            if other.key == first.key and size + len(other.items) <= self.settings.max_batch:
                self.pending.remove(other)
                taken.append(other)
                size += len(other.items)
        return taken

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self.pending:
                self._wake.clear()
                await self._wake.wait()
                if self.settings.batch_wait:
                    await asyncio.sleep(self.settings.batch_wait)
                continue
            taken = [p for p in self._take() if not p.future.done()]
            if not taken:
                continue
            try:
                await self._run_batch(loop, taken)
            except Exception:  # one request's items spoil the batch: run each alone
                for p in taken:
                    try:
                        await self._run_batch(loop, [p])
                    except Exception as exc:
                        if not p.future.done():
                            p.future.set_exception(exc)

    async def _run_batch(self, loop: asyncio.AbstractEventLoop, taken: list[_Pending]) -> None:
        items = [item for p in taken for item in p.items]
        results = await loop.run_in_executor(self.executor, self.call, items, taken[0].options)
        self.batches += 1
        start = 0
        for p in taken:
            if not p.future.done():
                p.future.set_result(results[start : start + len(p.items)])
            start += len(p.items)
