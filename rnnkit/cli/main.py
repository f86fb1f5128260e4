"""``rnnkit`` command: dispatches to subcommands (thin wrappers over the Python API).

Exit status: 0 done; 1 rnnkit could not do it (a bad data file or model directory, training
that diverged, an output it could not write: one line on stderr, never a traceback); 2 a usage
error (an unknown option, a value out of its range, a bad config or override); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rnnkit import __version__
from rnnkit.backends.allocator import keep_freed_memory_from_env
from rnnkit.cli import (
    diagnose,
    embed,
    evaluate,
    export,
    generate,
    import_keras,
    predict,
    quantize,
    ranges,
    serve,
    summarize,
    train,
    translate,
)
from rnnkit.errors import RnnkitError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnkit", description="Recurrent neural networks for NLP on PyTorch."
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a short tour of the layers: backends, parity, gradients")
    demo.add_argument("--steps", type=int, default=300, help="sequence length for gradient flow")
    demo.add_argument("--seed", type=int, default=0)
    train.add_parser(sub)
    evaluate.add_parser(sub)
    generate.add_parser(sub)
    predict.add_parser(sub)
    translate.add_parser(sub)
    summarize.add_parser(sub)
    embed.add_parser(sub)
    diagnose.add_parser(sub)
    import_keras.add_parser(sub)
    serve.add_parser(sub)
    export.add_parser(sub)
    quantize.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    keep_freed_memory_from_env()  # whole-process allocator setting; see its module
    if extra and args.command != "train":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    bad = ranges.problem(args)
    if bad is not None:
        print(f"rnnkit {args.command}: error: {bad}", file=sys.stderr)
        return 2
    prog = f"rnnkit {args.command}" + (f" {args.task}" if args.command == "train" else "")
    try:
        return _dispatch(args, extra)
    except RnnkitError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # an unreadable input or unwritable output the command let through
        where = f"{error.filename}: " if error.filename else ""
        print(f"{prog}: {where}{error.strerror or error}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, extra: list[str]) -> int:
    if args.command == "demo":
        from rnnkit.cli.demo import run_demo

        run_demo(steps=args.steps, seed=args.seed)
        return 0
    if args.command == "train":
        return train.run(args, extra)
    if args.command == "evaluate":
        return evaluate.run(args)
    if args.command == "generate":
        return generate.run(args)
    if args.command == "predict":
        return predict.run(args)
    if args.command == "translate":
        return translate.run(args)
    if args.command == "summarize":
        return summarize.run(args)
    if args.command == "embed":
        return embed.run(args)
    if args.command == "diagnose":
        return diagnose.run(args)
    if args.command == "import":
        return import_keras.run(args)
    if args.command == "serve":
        return serve.run(args)
    if args.command == "export":
        return export.run(args)
    if args.command == "quantize":
        return quantize.run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
