"""``rnnkit serve DIR [DIR ...]``: trained models behind an HTTP API (needs the serve extra).

Each model is addressed by its directory's name. Listens on 127.0.0.1 (this machine only)
unless ``--host`` says otherwise. Endpoints: GET /health, /info; POST /generate,
/generate/stream (server-sent events), /classify, /tag, /translate, /summarize, /embed,
/inspect (gates, hidden units, attention); GET / is a page to try the models in a browser.
SIGTERM or Ctrl-C finishes the requests in flight, then exits.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    sv = sub.add_parser(
        "serve",
        help="serve trained models over HTTP (JSON and server-sent events)",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sv.add_argument("model_dirs", nargs="+", metavar="DIR", help="run or model directories")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--max-batch", type=int, default=64, help="most items or streams per step")
    sv.add_argument("--max-queue", type=int, default=256, help="most waiting requests per model")
    sv.add_argument("--timeout", type=float, default=60.0, help="seconds a request may take")
    sv.add_argument("--max-body", default="8MB", help="largest request body (e.g. 8MB, 512KB)")
    sv.add_argument("--batch-wait", type=float, default=0.003,
                    help="seconds a batch waits for more requests")  # fmt: skip
    sv.add_argument("--threads", type=int, help="PyTorch threads for the models (default: its own)")
    sv.add_argument("--log-level", default="info",
                    choices=["critical", "error", "warning", "info", "debug"])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    try:
        from rnnkit.serve.page import playground_routes
        from rnnkit.serve.server import serve
        from rnnkit.serve.settings import ServeSettings, parse_size
    except ImportError as exc:
        print(f"rnnkit serve: {exc.name} is missing; install the extra: pip install "
              "'rnnkit[serve]'", file=sys.stderr)  # fmt: skip
        return 2
    try:
        if not 0 <= args.port <= 65535:
            raise ValueError(f"--port must be in [0, 65535], got {args.port}")
        if args.threads is not None and args.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {args.threads}")
        settings = ServeSettings(
            max_batch=args.max_batch, max_queue=args.max_queue, timeout=args.timeout,
            max_body=parse_size(args.max_body), batch_wait=args.batch_wait,
        )  # fmt: skip
        routes = playground_routes()
        serve(args.model_dirs, args.host, args.port, settings, args.log_level, routes, args.threads)
    except (FileNotFoundError, ValueError) as exc:
        print(f"rnnkit serve: {exc}", file=sys.stderr)
        return 2
    return 0
