"""Server-sent-event responses for generation streams.

``POST /generate/stream`` answers with ``text/event-stream``: one event per token as the
scheduler (``scheduler.py``) hands it over, then one last event with the result::

    data: {"token": 31, "text": "e", "logprob": -1.83}
    data: {"text": "...", "tokens": [...], "finish_reason": "length", "seed": 7}

Events that are ready together are written in one chunk. A client that disconnects cancels its
job; its row is dropped before the next step.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from rnnkit.serve.scheduler import Job
from rnnkit.tasks.predictors.streams import Generation, TokenEvent


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
