"""Continuous batching of the generation requests to one language model.

A ``GenerationScheduler`` keeps a ``GenerationBatch`` stepping on the model's worker thread while
any stream is active, one step after another: after each step the worker hands the step's token
events to the event loop (one ``call_soon_threadsafe``) and goes straight on, so the loop writes
one step's events while the next step runs, and no step waits for a round trip through the loop.
Between two steps, waiting requests join (up to ``max_batch`` streams) and finished, cancelled
or timed-out ones leave. The worker steps in slices of at most ``SLICE`` seconds, so that other
work for the same model queued on its worker (``POST /inspect``) gets its turn.

Every request gets a ``Job``: its events, ending with the finished ``Generation`` (or the
exception that failed the batch). The loop owns the jobs (their events and futures) and the
worker owns the batch; they share the queue of waiting jobs (under a lock) and the streams'
finish flags: a client that disconnects cancels its job from the loop, a stream past its time
limit is finished by the worker, and either way its row is dropped before the next step.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from rnnkit.serve.errors import QueueFull
from rnnkit.serve.settings import ServeSettings
from rnnkit.tasks.predictors.generation import GenerationBatch
from rnnkit.tasks.predictors.lm import LanguageModelPredictor
from rnnkit.tasks.predictors.streams import Generation, GenerationOptions, Stream, TokenEvent

SLICE = 0.05  #: seconds of steps the worker runs before it lets other work for the model in

Events = list[tuple[Stream, TokenEvent]]


@dataclass(eq=False)
class Job:
    """One generation request in the scheduler: its stream, deadline and events (token events,
    then the ``Generation`` or an exception; with ``tokens=False`` only that last one).

    The scheduler ``put``s events; the request's handler waits for them (``get`` one,
    ``wait`` then ``take`` all that are ready). A put wakes a waiting handler through one
    future: no queue object, one wake-up per step at most."""

    stream: Stream
    deadline: float
    tokens: bool = True
    ready: list[Any] = field(default_factory=list)
    done: bool = False
    _waiter: asyncio.Future | None = field(default=None, repr=False)

    def cancel(self) -> None:
        """The client is gone: free the stream's row at the next step."""
        self.stream.finish("cancelled")

    def put(self, event: Any) -> None:
        if self.tokens or not isinstance(event, TokenEvent):
            self.ready.append(event)
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(None)

    def finish(self, result: Generation | BaseException) -> None:
        if not self.done:
            self.done = True
            self.put(result)

    async def wait(self) -> None:
        """Until at least one event is ready."""
        while not self.ready:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def take(self) -> list[Any]:
        """The events ready now, oldest first (and forget them)."""
        taken, self.ready = self.ready, []
        return taken

    async def get(self) -> Any:
        """The next event."""
        await self.wait()
        return self.ready.pop(0)


class GenerationScheduler:
    """Continuous batching of the generation requests to one language model (see the module
    text). ``steps`` and ``widest`` count the model steps run and the most streams one step
    has served."""

    def __init__(
        self, predictor: LanguageModelPredictor, executor: Executor, settings: ServeSettings
    ) -> None:
        self.predictor, self.executor, self.settings = predictor, executor, settings
        self.batch = GenerationBatch(predictor.model)
        self.waiting: deque[Job] = deque()  # shared: under _lock
        self.jobs: dict[int, Job] = {}  # loop side: id(stream) -> job, streams in the batch
        self.running: list[Job] = []  # worker side: the jobs whose streams are in the batch
        self.steps = 0
        self.widest = 0
        self._lock = threading.Lock()
        self._closed = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def submit(self, options: GenerationOptions, tokens: bool = True) -> Job:
        """Queue a request (ValueError names a bad option; ``QueueFull`` past ``max_queue``);
        ``tokens=False``: its job gets only the finished generation."""
        stream = self.predictor.new_stream(options)
        with self._lock:
            if len(self.waiting) >= self.settings.max_queue:
                raise QueueFull(self.predictor.name, self.settings.max_queue,
                                self.settings.retry_after)  # fmt: skip
            job = Job(stream, time.monotonic() + self.settings.timeout, tokens)
            self.waiting.append(job)
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()  # bound to the loop that runs the task
            self._closed = False
            self._task = asyncio.get_running_loop().create_task(self._run())
        self._wake.set()
        return job

    @property
    def active(self) -> int:
        """Streams in the batch now."""
        return len(self.batch)

    async def close(self) -> None:
        self._closed = True  # a slice under way ends after its step
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._expire_waiting()
            if not self.running and not self.waiting:  # the worker is idle here
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await loop.run_in_executor(self.executor, self._slice, loop)
            except Exception as exc:  # a model failure: fail the batch, keep serving
                self._fail(exc)

    def _slice(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the worker thread: step until no stream is left or the slice is over, handing
        each step's joins, events and leavers to the loop."""
        end = time.monotonic() + SLICE
        while not self._closed:
            now = time.monotonic()
            for job in self.running:
                if now > job.deadline:
                    job.stream.finish("time_limit")
            joins = self._joins()
            self.running += joins
            self.batch.add_many([job.stream for job in joins])
            events = self.batch.step()
            gone = self.batch.take_gone()
            if gone:
                left = {id(s) for s in gone}
                self.running = [j for j in self.running if id(j.stream) not in left]
            self.steps += 1
            self.widest = max(self.widest, len(events))
            loop.call_soon_threadsafe(self._deliver, joins, events, gone)
            if (not self.batch.streams and not self.waiting) or now > end:
                return

    def _joins(self) -> list[Job]:
        joins: list[Job] = []
        if self.waiting:
            with self._lock:
                while self.waiting and len(self.batch) + len(joins) < self.settings.max_batch:
                    joins.append(self.waiting.popleft())
        return joins

    def _deliver(self, joins: list[Job], events: Events, gone: list[Stream]) -> None:
        """On the loop: one step's events to their jobs; the streams that left answered."""
        for job in joins:
            self.jobs[id(job.stream)] = job
        for stream, event in events:
            job = self.jobs.get(id(stream))
            if job is not None:
                job.put(event)
        for stream in gone:
            job = self.jobs.pop(id(stream), None)
            if job is not None:
                job.finish(stream.result())
        if self.waiting:
            self._expire_waiting()

    def _expire_waiting(self) -> None:
        """Answer the waiting jobs that are past their deadline or cancelled."""
        now = time.monotonic()
        with self._lock:
            over = [j for j in self.waiting if now > j.deadline or j.stream.finished]
            for job in over:
                self.waiting.remove(job)
        for job in over:
            job.stream.finish("time_limit")  # a cancelled one keeps its reason
            job.finish(job.stream.result())

    def _fail(self, exc: Exception) -> None:
        """The worker is idle: fail every job in the batch (those that joined in the failed
        step too) and start a fresh batch."""
        for job in self.running:
            job.finish(exc)
        self.running = []
        self.jobs.clear()
        self.batch = GenerationBatch(self.predictor.model)
