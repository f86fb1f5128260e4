"""``rnnkit`` command: dispatches to subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rnnkit import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnkit", description="Recurrent neural networks for NLP on PyTorch."
    )
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a short tour of the layers: backends, parity, gradients")
    demo.add_argument("--steps", type=int, default=300, help="sequence length for gradient flow")
    demo.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from rnnkit.cli.demo import run_demo

        run_demo(steps=args.steps, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
