"""The playground page of ``rnnkit serve``: ``GET /`` and its files, plus ``POST /inspect``.

The page is plain HTML, CSS and JavaScript shipped inside the package (``rnnkit/serve/static``):
nothing is fetched from other sites, so it works offline. It talks to the server's JSON API
only (``/info``, ``/generate/stream``, ``/classify``, ``/tag``, ``/translate``, ``/summarize``,
``/inspect``), so whatever it shows can be scripted too.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rnnkit.serve.introspect import inspect_endpoint

#: the files the page is made of, with their media types (nothing else is served)
STATIC = {
    "index.html": "text/html; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "shade.js": "text/javascript; charset=utf-8",
    "lm.js": "text/javascript; charset=utf-8",
    "tasks.js": "text/javascript; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
}


def static_file(name: str) -> bytes:
    """The bytes of one of the page's files (``STATIC``)."""
    return resources.files("rnnkit.serve").joinpath("static", name).read_bytes()


async def index(request: Request) -> Response:
    """``GET /``: the page."""
    return Response(static_file("index.html"), media_type=STATIC["index.html"],
                    headers={"cache-control": "no-cache"})  # fmt: skip


async def static(request: Request) -> Response:
    """``GET /static/NAME``: one of the page's files; 404 for any other name."""
    name = request.path_params["name"]
    if name not in STATIC:
        return JSONResponse({"error": f"no file {name!r}", "status": 404}, 404)
    return Response(static_file(name), media_type=STATIC[name],
                    headers={"cache-control": "no-cache"})  # fmt: skip


def playground_routes() -> list[BaseRoute]:
    """The page (``GET /``, ``GET /static/NAME``) and ``POST /inspect``, for ``build_app``.

    Example:
        >>> app = build_app(predictors, settings, routes=playground_routes())
    """
    return [
        Route("/", index, methods=["GET"]),
        Route("/static/{name}", static, methods=["GET"]),
        Route("/inspect", inspect_endpoint, methods=["POST"]),
    ]
