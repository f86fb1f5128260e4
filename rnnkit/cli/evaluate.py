"""``rnnkit evaluate DIR --data FILE [--json]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rnnkit.data import DataError


def add_parser(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("evaluate", help="evaluate a trained model on a file")
    ev.add_argument("model_dir", help="run or model directory")
    ev.add_argument("--data", required=True, help="evaluation file")
    ev.add_argument("--json", action="store_true", help="print one JSON line")


def run(args: argparse.Namespace) -> int:
    from rnnkit.models.io import load_model_dir
    from rnnkit.tasks.lm import evaluate_lm

    try:
        _, _, meta = load_model_dir(Path(args.model_dir))
        task = meta.get("task")
        if task != "lm":
            raise ValueError(f"{args.model_dir}: evaluate does not know task {task!r} yet")
        bptt = meta.get("data", {}).get("bptt", 100)
        metrics = evaluate_lm(Path(args.model_dir), args.data, bptt=bptt)
    except (DataError, FileNotFoundError, ValueError) as exc:
        print(f"rnnkit evaluate: {exc}", file=sys.stderr)
        return 2
    if args.json:
        keys = ("perplexity", "bpc", "tokens")
        print(json.dumps({k: metrics[k] for k in keys}))
    else:
        print(
            f"perplexity {metrics['perplexity']:.3f}  bits per character {metrics['bpc']:.4f}"
            f"  ({metrics['tokens']} tokens, {metrics['characters']} characters)"
        )
    return 0
