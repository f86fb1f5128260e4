"""Generation with continuous batching, and its server-sent-event responses.

One ``GenerationScheduler`` per language model keeps a ``GenerationBatch``: between two steps,
waiting requests join (up to ``max_batch`` streams) and finished, cancelled or timed-out ones
leave; each step runs on the model's worker thread while the event loop writes the previous
step's tokens. Every request gets a ``Job``: its events, ending with the finished
``Generation``. A client that disconnects cancels its job; its row is dropped before
the next step.

Server-sent events (``text/event-stream``), one per token, then one last event::

    data: {"token": 31, "text": "e", "logprob": -1.83}
    data: {"text": "...", "tokens": [...], "finish_reason": "length", "seed": 7}
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import deque
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from rnnkit.serve.errors import QueueFull
from rnnkit.serve.settings import ServeSettings
from rnnkit.tasks.predictors.generation import GenerationBatch
from rnnkit.tasks.predictors.lm import LanguageModelPredictor
from rnnkit.tasks.predictors.streams import Generation, GenerationOptions, Stream, TokenEvent


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
    """Continuous batching of the generation requests to one language model."""

    def __init__(
        self, predictor: LanguageModelPredictor, executor: Executor, settings: ServeSettings
    ) -> None:
        self.predictor, self.executor, self.settings = predictor, executor, settings
        self.batch = GenerationBatch(predictor.model)
        self.waiting: deque[Job] = deque()
        self.jobs: dict[int, Job] = {}  # id(stream) -> job, for the streams in the batch
        self.steps = 0  #: model steps run so far
        self.widest = 0  #: the most streams one step has run
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def submit(self, options: GenerationOptions, tokens: bool = True) -> Job:
        """Queue a request (ValueError names a bad option; ``QueueFull`` past ``max_queue``);
        ``tokens=False``: its job gets only the finished generation."""
        stream = self.predictor.new_stream(options)
        if len(self.waiting) >= self.settings.max_queue:
            raise QueueFull(self.predictor.name, self.settings.max_queue,
                            self.settings.retry_after)  # fmt: skip
        loop = asyncio.get_running_loop()
        job = Job(stream, loop.time() + self.settings.timeout, tokens)
        self.waiting.append(job)
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()  # bound to the loop that runs the task
            self._task = loop.create_task(self._run())
        self._wake.set()
        return job

    @property
    def active(self) -> int:
        """Streams in the batch now."""
        return len(self.batch)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _expire(self, now: float) -> None:
        """Time out the jobs past their deadline; answer the waiting ones that are over."""
        for job in [*self.jobs.values(), *self.waiting]:
            if now > job.deadline:
                job.stream.finish("time_limit")
        for job in [j for j in self.waiting if j.stream.finished]:
            self.waiting.remove(job)
            job.finish(job.stream.result())

    def _joins(self) -> list[Job]:
        joins: list[Job] = []
        while self.waiting and len(self.batch) + len(joins) < self.settings.max_batch:
            joins.append(self.waiting.popleft())
        return joins

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self.jobs and not self.waiting:
                self._wake.clear()
                await self._wake.wait()
                continue
            self._expire(loop.time())
            joins = self._joins()
            try:
                events, gone = await loop.run_in_executor(self.executor, self._advance, joins)
            except Exception as exc:  # a model failure: fail the batch, keep serving
                self._fail(exc)
                continue
            for stream, event in events:
                job = self.jobs.get(id(stream))
                if job is not None:
                    job.put(event)
            for stream in gone:
                job = self.jobs.pop(id(stream), None)
                if job is not None:
                    job.finish(stream.result())

    def _advance(self, joins: list[Job]) -> tuple[list[tuple[Stream, TokenEvent]], list[Stream]]:
        """On the worker thread: join the new streams, run one step, report who left."""
        for job in joins:
            self.jobs[id(job.stream)] = job
        self.batch.add_many([job.stream for job in joins])
        events = self.batch.step()
        self.steps += bool(events)
        self.widest = max(self.widest, len(events))
        return events, self.batch.take_gone()

    def _fail(self, exc: Exception) -> None:
        for job in self.jobs.values():
            job.finish(exc)
        self.jobs.clear()
        self.batch = GenerationBatch(self.predictor.model)


def token_json(event: TokenEvent) -> dict[str, Any]:
    return {"token": event.id, "text": event.text, "logprob": event.logprob}


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n\n"


_TEXTS: dict[str, bytes] = {}  #: token text -> its JSON string, UTF-8 (a bounded cache)


def token_sse(event: TokenEvent) -> bytes:
    """``sse(token_json(event))``, byte for byte, without building a dict or running the JSON
    encoder: the text's JSON form is cached (a character model has a few dozen), and a finite
    float's JSON form is its ``repr``."""
    text = _TEXTS.get(event.text)
    if text is None:
        if len(_TEXTS) >= 4096:
            _TEXTS.clear()
        text = _TEXTS[event.text] = json.dumps(event.text, ensure_ascii=False).encode("utf-8")
    lp = event.logprob
    number = repr(lp) if math.isfinite(lp) else json.dumps(lp)
    return b'data: {"token": %d, "text": %s, "logprob": %s}\n\n' % (event.id, text, number.encode())


class EventStream:
    """ASGI response writing a job's events as server-sent events; a disconnect cancels the job.

    ``first`` holds the events already taken from the job (the handler waits for the first
    one before answering, so a request that times out in the queue still gets a 504). Events
    that are ready together are written in one chunk.
    """

    def __init__(self, job: Job, first: list[Any]) -> None:
        self.job, self.first = job, first

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]})  # fmt: skip
        watcher = asyncio.get_running_loop().create_task(self._watch(receive))
        job = self.job
        try:
            ready, ended = list(self.first), False
            while not ended:
                if not ready and not job.ready:
                    await job.wait()
                ready += job.take()
                chunk, ended = self._encode(ready)
                ready = []
                await send({"type": "http.response.body", "body": chunk, "more_body": not ended})
        except OSError:  # the connection broke while writing
            job.cancel()
        finally:
            watcher.cancel()
            job.cancel()

    def _encode(self, events: list[Any]) -> tuple[bytes, bool]:
        parts = []
        for event in events:
            if isinstance(event, TokenEvent):
                parts.append(token_sse(event))
            elif isinstance(event, Generation):
                parts.append(sse(event.to_dict()))
                return b"".join(parts), True
            else:
                parts.append(sse({"error": str(event), "finish_reason": "error"}))
                return b"".join(parts), True
        return b"".join(parts), False

    async def _watch(self, receive: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.job.cancel()
                return
