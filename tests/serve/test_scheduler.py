"""The generation scheduler alone: the worker steps on its own, lets other work in, and a model
failure ends the batch's requests without stopping the scheduler."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from rnnkit.serve.scheduler import SLICE, GenerationScheduler
from rnnkit.serve.settings import ServeSettings
from rnnkit.tasks.predictors.streams import Generation, GenerationOptions

ENDLESS = GenerationOptions("the", 10**7, seed=1)


def scenario(predictor, body):
    """Run ``body(scheduler, executor)`` on a fresh loop with a one-thread worker."""

    async def main():
        executor = ThreadPoolExecutor(1)
        scheduler = GenerationScheduler(predictor, executor, ServeSettings())
        try:
            return await asyncio.wait_for(body(scheduler, executor), 60)
        finally:
            await scheduler.close()
            await asyncio.get_running_loop().run_in_executor(executor, lambda: None)
            executor.shutdown()

    return asyncio.run(main())


def test_the_worker_keeps_stepping_while_the_loop_is_busy(predictors):
    async def body(scheduler, executor):
        job = scheduler.submit(ENDLESS)
        await job.get()  # under way
        before = scheduler.steps
        time.sleep(0.3)  # the loop is blocked: no event is taken meanwhile
        during = scheduler.steps - before
        job.cancel()
        while not isinstance(await job.get(), Generation):
            pass
        return during, job.stream.finish_reason

    during, reason = scenario(predictors["lm"], body)
    assert during >= 5 and reason == "cancelled"


def test_other_work_for_the_model_gets_its_turn_between_slices(predictors):
    async def body(scheduler, executor):
        job = scheduler.submit(ENDLESS)
        await job.get()
        start = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(executor, lambda: None)
        waited = time.monotonic() - start
        still = not job.stream.finished
        job.cancel()
        return waited, still

    waited, still = scenario(predictors["lm"], body)
    assert still and waited < SLICE + 2.0  # a slice, plus slack for a loaded machine


def test_a_failing_step_fails_the_batch_and_the_next_request_runs(predictors):
    async def body(scheduler, executor):
        step = scheduler.batch.step
        calls = []

        def failing():
            calls.append(1)
            if len(calls) == 3:
                raise RuntimeError("model broke")
            return step()

        scheduler.batch.step = failing
        first = scheduler.submit(ENDLESS)
        events = []
        while not isinstance(event := await first.get(), Generation | BaseException):
            events.append(event)
        after = scheduler.submit(GenerationOptions("the", 4, seed=2), tokens=False)
        return event, await after.get()

    failed, after = scenario(predictors["lm"], body)
    assert isinstance(failed, RuntimeError) and "model broke" in str(failed)
    assert isinstance(after, Generation) and len(after.tokens) == 4
