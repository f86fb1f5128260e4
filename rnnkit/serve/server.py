"""Running the application under uvicorn: load the models, listen, stop cleanly on SIGTERM.

uvicorn handles SIGINT and SIGTERM: it stops accepting connections, lets the requests in flight
finish (streams included, for at most ``timeout`` seconds) and then runs the application's
shutdown, which stops the batchers and the models' worker threads.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit.serve.app import build_app
from rnnkit.serve.settings import ServeSettings


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    paths: Sequence[str | Path],
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: ServeSettings | None = None,
    log_level: str = "info",
    routes: Sequence[Any] = (),
    threads: int | None = None,
) -> None:
    """Load each model directory and serve them all until SIGINT or SIGTERM; ``routes`` are
    added to the API (``build_app``), e.g. ``page.playground_routes()``; ``threads``: PyTorch
    threads for the models (None: PyTorch's own choice, every core).

    Raises:
        FileNotFoundError, ValueError: a model directory that cannot be loaded (before any
        socket is opened).
    """
    import torch
    import uvicorn

    from rnnkit.tasks.predictors import load

    if threads is not None:
        torch.set_num_threads(threads)

    settings = settings or ServeSettings()
    predictors = [load(p) for p in paths]
    for p in predictors:
        if p.task == "lm":  # build what the generation step builds on first use, now
            from rnnkit.tasks.predictors.generation import GenerationBatch

            GenerationBatch(p.model).warm_up(settings.max_batch)  # type: ignore[arg-type]
    app = build_app(predictors, settings, routes)
    for p in predictors:
        print(f"rnnkit serve: {p.name} ({p.task}) from {p.path}", file=sys.stderr)
    if not is_loopback(host):
        print(f"rnnkit serve: listening on {host}, reachable from other machines; the server "
              "has no authentication", file=sys.stderr)  # fmt: skip
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="on",
        timeout_graceful_shutdown=int(settings.timeout) + 1,
    )  # fmt: skip
    _server_class(uvicorn)(config).run()


def _server_class(uvicorn: Any) -> type:
    """uvicorn's server, but a graceful stop on SIGTERM or SIGINT ends the command with status
    0 (uvicorn raises the signal again once stopped, which would end it as killed)."""

    class Server(uvicorn.Server):  # type: ignore[misc, name-defined]
        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            captured = getattr(self, "_captured_signals", None)
            if isinstance(captured, list):
                captured.clear()

    return Server
