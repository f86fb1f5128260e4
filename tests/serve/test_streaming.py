"""The streaming pieces alone: event encoding and a job's events."""

import asyncio
import math

from rnnkit.serve.scheduler import Job
from rnnkit.serve.streaming import sse, token_json, token_sse
from rnnkit.tasks.predictors.streams import Generation, GenerationOptions, Stream, TokenEvent


def test_token_sse_is_byte_for_byte_the_json_encoding():
    texts = ["e", "", " ", '"', "\\", "\n", "\t", "é", "日本", "\u2028", "<unk>", "a\"b'c", "\x00"]
    numbers = [-1.83, 0.0, -0.0, -1e-300, -123456.789, -math.inf, math.nan, -2.5e-7]
    for i, text in enumerate(texts):
        for lp in numbers:
            event = TokenEvent(i * 1000, text, lp)
            assert token_sse(event) == sse(token_json(event)), (text, lp)
    assert (
        token_sse(TokenEvent(3, "é", -0.5))
        == 'data: {"token": 3, "text": "é", "logprob": -0.5}\n\n'.encode()
    )


def _stream() -> Stream:
    from rnnkit.data import CharTokenizer

    return Stream(GenerationOptions("ab", 5, seed=1), CharTokenizer.train("abc"))


def test_a_job_wakes_its_waiter_once_and_hands_over_every_ready_event():
    async def scenario():
        job = Job(_stream(), deadline=math.inf)
        waiter = asyncio.ensure_future(job.wait())
        await asyncio.sleep(0)
        assert not waiter.done()
        first, second = TokenEvent(1, "a", -1.0), TokenEvent(2, "b", -2.0)
        job.put(first)
        job.put(second)
        await waiter
        assert job.take() == [first, second] and job.take() == []
        job.put(first)
        assert await job.get() == first and not job.ready
        result = Generation("ab", [1, 2], "length", 1)
        job.finish(result)
        job.finish(RuntimeError("late"))  # only the first result counts
        return job.take()

    assert asyncio.run(scenario()) == [Generation("ab", [1, 2], "length", 1)]


def test_a_job_without_tokens_gets_only_its_result():
    async def scenario():
        job = Job(_stream(), deadline=math.inf, tokens=False)
        job.put(TokenEvent(1, "a", -1.0))
        assert not job.ready
        job.finish(Generation("a", [1], "length", 1))
        return await asyncio.wait_for(job.get(), 1.0)

    assert asyncio.run(scenario()).tokens == [1]
