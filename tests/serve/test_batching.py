"""Concurrency in-process: batching equals the unbatched path; queue limits, time limits and
disconnects free what they hold and the server goes on."""

import asyncio
import json
import time

import httpx
import pytest

from rnnkit.serve.app import build_app
from rnnkit.serve.settings import ServeSettings

GOOD = {"model": "lm", "prompt": "the", "max_tokens": 4, "seed": 1}


async def drain(app) -> None:
    """Stop the app's batchers and wait for its workers to go idle before the loop closes (a
    worker that finishes after its loop is gone logs a traceback from its thread)."""
    loop = asyncio.get_running_loop()
    for served in app.state.models.values():
        for batcher in served.batchers.values():
            await batcher.close()
        if served.scheduler is not None:
            await served.scheduler.close()
        await loop.run_in_executor(served.executor, lambda: None)


def run(coroutine_fn, app):
    async def main():
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await asyncio.wait_for(coroutine_fn(client), 60)
        finally:
            await drain(app)

    return asyncio.run(main())


def test_concurrent_classify_requests_run_as_padded_batches_equal_to_alone(predictors):
    app = build_app([predictors["classify"]], ServeSettings(batch_wait=0.05))
    texts = ["great", "the film was dull", "a plot and a fine film was superb", "bad", "fine",
             "the the the awful", "superb acting", "and"]  # fmt: skip

    async def scenario(client):
        posts = [client.post("/classify", json={"texts": [t]}) for t in texts]
        return [r.json()["results"][0] for r in await asyncio.gather(*posts)]

    results = run(scenario, app)
    batcher = app.state.models["classify"].batchers["classify"]
    assert batcher.batches < len(texts)  # grouped: fewer model calls than requests
    for text, got in zip(texts, results):
        alone = predictors["classify"].classify([text])[0]
        assert got["label"] == alone.label
        for label, p in alone.probabilities.items():
            assert got["probabilities"][label] == pytest.approx(p, abs=1e-5)


def test_concurrent_streams_share_steps_and_equal_each_stream_alone(predictors):
    lm = predictors["lm"]
    app = build_app([lm])
    requests = [{"prompt": "the cat"[: 1 + i % 7], "max_tokens": 12 + i, "seed": i,
                 "temperature": 0.5 + 0.1 * i, "top_k": None if i % 2 else 6}
                for i in range(12)]  # fmt: skip
    requests[3] = {"prompt": "said", "max_tokens": 9, "greedy": True}

    async def scenario(client):
        posts = [client.post("/generate/stream" if i % 2 else "/generate", json=r)
                 for i, r in enumerate(requests)]  # fmt: skip
        return await asyncio.gather(*posts)

    responses = run(scenario, app)
    assert app.state.models["lm"].scheduler.widest > 8  # more rows than the native small step
    for i, (body, response) in enumerate(zip(requests, responses)):
        if i % 2:
            line = [x for x in response.text.split("\n") if x][-1]
            got = json.loads(line[len("data: ") :])
        else:
            got = response.json()
        args = {k: v for k, v in body.items() if k not in ("prompt", "max_tokens")}
        alone = lm.generate(body["prompt"], body["max_tokens"], **args)
        assert got == alone.to_dict(), i


def test_queue_full_is_503_and_time_limit_is_504_then_good_requests_pass(predictors):
    app = build_app([predictors["lm"]], ServeSettings(max_batch=1, max_queue=1, timeout=1.0))
    endless = {"prompt": "the", "max_tokens": 10**7, "seed": 1}

    async def scenario(client):
        running = asyncio.ensure_future(client.post("/generate", json=endless))
        await asyncio.sleep(0.2)
        waiting = asyncio.ensure_future(client.post("/generate/stream", json=endless))
        await asyncio.sleep(0.2)
        refused = await client.post("/generate", json=GOOD)
        streamed = await waiting
        statuses = [refused.status_code, (await running).status_code, streamed.status_code]
        return refused, statuses, streamed, await client.post("/generate", json=GOOD)

    refused, statuses, streamed, after = run(scenario, app)
    # full queue; the running request times out; the waiting stream starts when the slot frees
    # and, being under way, ends with a last event saying it ran out of time
    assert statuses == [503, 504, 200]
    last = json.loads([x for x in streamed.text.split("\n") if x][-1][len("data: ") :])
    assert last["finish_reason"] == "time_limit" and last["tokens"]
    assert refused.headers["retry-after"] == "1" and "--max-queue" in refused.json()["error"]
    assert after.status_code == 200 and len(after.json()["tokens"]) == 4


def test_a_beam_search_past_the_time_limit_is_504_and_frees_the_worker(predictors):
    app = build_app([predictors["lm"]], ServeSettings(timeout=1.0))
    endless = {"prompt": "the", "max_tokens": 100_000, "beam": 2}  # a minute of search or more

    async def scenario(client):
        over = await client.post("/generate", json=endless)
        # the worker runs one call at a time: a search left running would hold this one too
        return over, await client.post("/generate", json=GOOD)

    over, after = run(scenario, app)
    assert over.status_code == 504 and "--timeout" in over.json()["error"]
    assert after.status_code == 200 and len(after.json()["tokens"]) == 4


def test_a_slow_batch_is_504_and_a_full_batch_queue_503(predictors):
    app = build_app([predictors["classify"]], ServeSettings(timeout=0.5, max_queue=1))
    batcher = app.state.models["classify"].batchers["classify"]
    call = batcher.call
    batcher.call = lambda items, options: (time.sleep(1.0), call(items, options))[1]

    async def scenario(client):
        slow = asyncio.ensure_future(client.post("/classify", json={"texts": ["fine"]}))
        await asyncio.sleep(0.1)
        queued = asyncio.ensure_future(client.post("/classify", json={"texts": ["bad"]}))
        await asyncio.sleep(0.1)
        full = await client.post("/classify", json={"texts": ["x"]})
        codes = [(await slow).status_code, (await queued).status_code, full.status_code]
        batcher.call = call
        return codes, await client.post("/classify", json={"texts": ["great"]})

    codes, after = run(scenario, app)
    assert codes == [504, 504, 503]
    assert after.status_code == 200 and after.json()["results"][0]["label"] in ("pos", "neg")


def test_a_client_that_disconnects_mid_stream_frees_its_slot(predictors):
    app = build_app([predictors["lm"]])
    scheduler = app.state.models["lm"].scheduler
    body = json.dumps({"prompt": "the", "max_tokens": 10**7, "seed": 3}).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/generate/stream", "raw_path": b"/generate/stream",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    }  # fmt: skip

    async def scenario():
        gone, chunks, asked = asyncio.Event(), [], []

        async def receive():
            if not asked:
                asked.append(1)
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.body":
                chunks.append(message["body"])
                if len(chunks) == 3:
                    gone.set()

        await asyncio.wait_for(app(scope, receive, send), 30)
        for _ in range(200):  # the row goes at the next step
            if scheduler.active == 0 and not scheduler.jobs:
                break
            await asyncio.sleep(0.01)
        active = scheduler.active
        await drain(app)
        return chunks, active

    chunks, active = asyncio.run(scenario())
    assert active == 0 and len(chunks) < 1000
    assert b'"finish_reason": "cancelled"' in chunks[-1]
    assert run(lambda c: c.post("/generate", json=GOOD), app).status_code == 200
