"""The ASGI application of ``rnnkit serve``: routes, model lookup and error mapping.

Endpoints (JSON in, JSON out; each model is addressed by ``"model"``, its directory's name,
which may be left out when one model is served):

    GET  /health             {"status": "ok", "models": {name: {task, waiting, active}}}
    GET  /info               each model's task, config, vocabulary size and layer backends;
                             the settings and the PyTorch threads
    POST /generate           {"text", "tokens", "finish_reason", "seed"}
    POST /generate/stream    server-sent events: one per token, then the result (streaming.py)
    POST /classify | /tag | /translate | /summarize | /embed      {"results": [...]}

Errors are JSON ``{"error", "status", "field"?}`` with 400 (malformed JSON, a bad field), 404
(unknown model or path), 405 (a method the path does not take), 413 (body over ``--max-body``),
503 (queue full, with Retry-After) or 504 (over ``--timeout``). More routes (a page at ``/``,
``POST /inspect``) are added with ``build_app(..., routes=[...])``; their handlers use
``json_endpoint`` and ``served_model`` like the ones here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rnnkit.serve.batching import MicroBatcher
from rnnkit.serve.errors import BadRequest, NotFound, RequestError, TimeLimit
from rnnkit.serve.requests import (
    FIELDS,
    LENGTHS,
    LIMITS,
    check_fields,
    field_of,
    parse_json,
    read_body,
)
from rnnkit.serve.scheduler import GenerationScheduler, Job
from rnnkit.serve.settings import ServeSettings
from rnnkit.serve.streaming import EventStream
from rnnkit.tasks.predictors import Predictor
from rnnkit.tasks.predictors.streams import Generation, GenerationOptions

log = logging.getLogger("rnnkit.serve")


@dataclass
class ServedModel:
    """A loaded predictor with its worker thread and its batchers (or generation scheduler)."""

    predictor: Predictor
    executor: ThreadPoolExecutor
    batchers: dict[str, MicroBatcher] = field(default_factory=dict)
    scheduler: GenerationScheduler | None = None


def _results(method: str, convert: Callable[[Any], Any]) -> Callable[..., list[Any]]:
    def call(predictor: Predictor, items: list[Any], options: dict[str, Any]) -> list[Any]:
        return [convert(r) for r in getattr(predictor, method)(items, **options)]

    return call


def _translation(t: Any) -> dict[str, Any]:
    from rnnkit.tasks.predictors.translate import translation_dict

    return translation_dict(t)


#: endpoint -> (task, the field holding the items, the batch call)
TASK_ENDPOINTS: dict[str, tuple[str, str, Callable[..., list[Any]]]] = {
    "classify": ("classify", "texts", _results("classify", lambda r: r.to_dict())),
    "tag": ("tag", "texts", _results("tag", lambda r: r.to_dict())),
    "translate": ("translate", "texts", _results("translate", _translation)),
    "summarize": ("summarize", "documents", _results("summarize", lambda r: r.to_dict())),
    "embed": ("bilm", "texts", _results("embed", lambda r: r.to_dict())),
}


def json_endpoint(
    name: str,
    fields: dict[str, str] | None = None,
    limits: dict[str, tuple[int, int | None]] | None = None,
    lengths: dict[str, int] | None = None,
) -> Callable[[Callable[[Request, dict[str, Any]], Awaitable[Response]]], Callable]:
    """Wrap a handler ``(request, checked body) -> response``: read and check the body
    (``FIELDS[name]``, or ``fields`` for a new endpoint: ``{"model": STRING, "*text": STRING}``,
    ``*`` marking a required field; ``limits``: integer fields' (lowest, highest or None);
    ``lengths``: string fields' most characters) and turn errors into JSON responses with their
    status."""
    if fields is not None:
        FIELDS[name] = dict(fields)
    if limits is not None:
        LIMITS[name] = dict(limits)
    if lengths is not None:
        LENGTHS[name] = dict(lengths)

    def wrap(handler: Callable[[Request, dict[str, Any]], Awaitable[Response]]) -> Callable:
        async def endpoint(request: Request) -> Response:
            settings: ServeSettings = request.app.state.settings
            try:
                body = check_fields(name, parse_json(await read_body(request, settings.max_body)))
                return await handler(request, body)
            except RequestError as err:
                return JSONResponse(err.body(), err.status, headers=err.headers)
            except ValueError as err:  # a predictor refused an option: name the field
                bad = BadRequest(str(err), field_of(str(err), name))
                return JSONResponse(bad.body(), bad.status)
            except Exception:
                log.exception("rnnkit serve: %s failed", request.url.path)
                return JSONResponse({"error": "internal error (see the server log)",
                                     "status": 500}, 500)  # fmt: skip

        return endpoint

    return wrap


def served_model(request: Request, body: dict[str, Any], task: str | None = None) -> ServedModel:
    """The model a request names (``"model"``), checked to be of ``task``."""
    models: dict[str, ServedModel] = request.app.state.models
    name = body.get("model")
    if name is None:
        if len(models) != 1:
            raise BadRequest(f"model: required when several models are served ({sorted(models)})",
                             "model")  # fmt: skip
        name = next(iter(models))
    if name not in models:
        raise NotFound(f"model: no model named {name!r}; served: {sorted(models)}", "model")
    served = models[name]
    if task is not None and served.predictor.task != task:
        raise BadRequest(f"model: {name!r} is a {served.predictor.task} model; "
                         f"{request.url.path} needs a {task} model", "model")  # fmt: skip
    return served


def _options(body: dict[str, Any]) -> GenerationOptions:
    fields = {k: v for k, v in body.items() if k != "model"}
    if "stop" in fields:
        fields["stop"] = tuple(fields["stop"])
    return GenerationOptions(**fields)


async def _first(job: Job, timeout: float) -> Any:
    try:
        return await asyncio.wait_for(job.get(), timeout + 1.0)
    except asyncio.TimeoutError:  # the builtin TimeoutError only from Python 3.11
        job.cancel()
        raise TimeLimit(timeout) from None


def _timed_out(result: Any, settings: ServeSettings) -> None:
    if isinstance(result, Generation) and result.finish_reason == "time_limit":
        raise TimeLimit(settings.timeout)
    if isinstance(result, BaseException):
        raise result


async def _beam_search(served: ServedModel, options: GenerationOptions, timeout: float) -> Any:
    """Beam search (``beam`` > 1) on the model's worker thread: one whole hypothesis, so it
    runs as one call beside the sampled streams' steps, not in their batch."""
    predictor: Any = served.predictor
    stream = predictor.new_stream(options)  # a bad field is refused here, not on the worker

    def search() -> Generation:
        for _ in predictor.run(stream):
            pass
        return stream.result()

    future = asyncio.get_running_loop().run_in_executor(served.executor, search)
    try:
        return await asyncio.wait_for(future, timeout)
    except asyncio.TimeoutError:  # the builtin TimeoutError only from Python 3.11
        stream.finish("time_limit")  # the search stops after its step, freeing the worker
        raise TimeLimit(timeout) from None
    finally:  # a client gone away: the same (a finished search keeps its own reason)
        stream.finish("cancelled")


@json_endpoint("generate")
async def generate(request: Request, body: dict[str, Any]) -> Response:
    served = served_model(request, body, "lm")
    assert served.scheduler is not None
    if body.get("beam", 1) > 1:
        timeout = request.app.state.settings.timeout
        return JSONResponse((await _beam_search(served, _options(body), timeout)).to_dict())
    job = served.scheduler.submit(_options(body), tokens=False)  # only the result comes
    try:
        result = await _first(job, request.app.state.settings.timeout)
    finally:
        job.cancel()
    _timed_out(result, request.app.state.settings)
    return JSONResponse(result.to_dict())


@json_endpoint("generate")
async def generate_stream(request: Request, body: dict[str, Any]) -> Response:
    served = served_model(request, body, "lm")
    assert served.scheduler is not None
    if body.get("beam", 1) > 1:
        why = "a stream sends each token as it is chosen; beam search (beam > 1) finds"
        raise BadRequest(f"beam: {why} a whole hypothesis first: ask /generate", "beam")
    job = served.scheduler.submit(_options(body))
    first = await _first(job, request.app.state.settings.timeout)
    if isinstance(first, Generation) and not first.tokens:
        _timed_out(first, request.app.state.settings)  # timed out before its first token
    if isinstance(first, BaseException):
        raise first
    return EventStream(job, [first])  # type: ignore[return-value]


def task_endpoint(name: str) -> Callable:
    task, items_field, _ = TASK_ENDPOINTS[name]

    @json_endpoint(name)
    async def handler(request: Request, body: dict[str, Any]) -> Response:
        served = served_model(request, body, task)
        options = {k: v for k, v in body.items() if k not in ("model", items_field)}
        results = await served.batchers[name].submit(body[items_field], options)
        return JSONResponse({"results": results})

    return handler


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such path, a method the route does not take) as JSON."""
    assert isinstance(exc, HTTPException)
    body = {
        "error": f"{request.method} {request.url.path}: {exc.detail}",
        "status": exc.status_code,
    }
    return JSONResponse(body, exc.status_code, headers=exc.headers)


async def health(request: Request) -> Response:
    """Liveness, and per model the requests waiting and the generation streams running."""
    models = {}
    for name, served in request.app.state.models.items():
        waiting = sum(len(b.pending) for b in served.batchers.values())
        active = 0
        if served.scheduler is not None:
            waiting += len(served.scheduler.waiting)
            active = served.scheduler.active
        models[name] = {"task": served.predictor.task, "waiting": waiting, "active": active}
    return JSONResponse({"status": "ok", "models": models})


async def info(request: Request) -> Response:
    """Each model's description, the server's settings and the PyTorch threads its models use."""
    import torch

    models = [m.predictor.info() for m in request.app.state.models.values()]
    return JSONResponse({"models": models, "settings": request.app.state.settings.to_dict(),
                         "threads": torch.get_num_threads()})  # fmt: skip


def _serve(predictor: Predictor, settings: ServeSettings) -> ServedModel:
    executor = ThreadPoolExecutor(1, thread_name_prefix=f"rnnkit-{predictor.name}")
    served = ServedModel(predictor, executor)
    if predictor.task == "lm":
        served.scheduler = GenerationScheduler(predictor, executor, settings)  # type: ignore[arg-type]
    for endpoint, (task, _, call) in TASK_ENDPOINTS.items():
        if task == predictor.task:
            run = (lambda c: lambda items, options: c(predictor, items, options))(call)
            served.batchers[endpoint] = MicroBatcher(predictor.name, run, executor, settings)
    return served


def build_app(
    predictors: Sequence[Predictor],
    settings: ServeSettings | None = None,
    routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The application serving ``predictors`` (names must differ), with extra ``routes``.

    Example:
        >>> app = build_app([rnnkit.load("runs/shakespeare")], ServeSettings(max_batch=32))
    """
    settings = settings or ServeSettings()
    names = [p.name for p in predictors]
    if len(set(names)) != len(names):
        raise ValueError(f"rnnkit serve: two models share a name: {names}")
    table = [
        Route("/health", health, methods=["GET"]),
        Route("/info", info, methods=["GET"]),
        Route("/generate", generate, methods=["POST"]),
        Route("/generate/stream", generate_stream, methods=["POST"]),
        *(Route(f"/{name}", task_endpoint(name), methods=["POST"]) for name in TASK_ENDPOINTS),
        *routes,
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for served in app.state.models.values():
            for batcher in served.batchers.values():
                await batcher.close()
            if served.scheduler is not None:
                await served.scheduler.close()
            served.executor.shutdown(wait=True)

    app = Starlette(routes=table, lifespan=lifespan,
                    exception_handlers={HTTPException: _http_error})  # fmt: skip
    app.state.settings = settings
    app.state.models = {p.name: _serve(p, settings) for p in predictors}
    return app
