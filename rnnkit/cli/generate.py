"""``rnnkit generate DIR``: stream text from a trained language model (its predictor's
``stream``, the path ``rnnkit serve`` runs)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from rnnkit.cli.runtime_option import add_runtime_option, model_path
from rnnkit.errors import ModelFileError, RnnkitError


def add_parser(sub: argparse._SubParsersAction) -> None:
    gen = sub.add_parser("generate", help="generate text from a trained language model")
    gen.add_argument("model_dir", help="run or model directory")
    gen.add_argument("--prompt", default="", help="text to continue")
    gen.add_argument("--max-tokens", type=int, default=300)
    gen.add_argument("--temperature", type=float, default=1.0)
    gen.add_argument("--top-k", type=int, default=None)
    gen.add_argument("--top-p", type=float, default=None)
    gen.add_argument("--greedy", action="store_true", help="always take the most likely token")
    gen.add_argument("--beam", type=int, default=1, help="beam width (> 1: beam search)")
    gen.add_argument("--seed", type=int, default=None)
    gen.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    add_runtime_option(gen)


def run(args: argparse.Namespace) -> int:
    from rnnkit.tasks.predictors import load
    from rnnkit.tasks.predictors.lm import LanguageModelPredictor

    try:
        with contextlib.ExitStack() as stack:
            lm = load(model_path(Path(args.model_dir), args.runtime, stack))
            if not isinstance(lm, LanguageModelPredictor):
                raise ModelFileError(f"{args.model_dir}: not a language model (task {lm.task!r})")
            events = lm.stream(
                args.prompt, args.max_tokens, temperature=args.temperature, top_k=args.top_k,
                top_p=args.top_p, greedy=args.greedy, beam=args.beam, seed=args.seed,
                stop=args.stop,
            )  # fmt: skip
            sys.stdout.write(args.prompt)
            for event in events:
                sys.stdout.write(event.text)
                sys.stdout.flush()
            sys.stdout.write("\n")
    except RnnkitError:
        raise  # one line and exit status 1, from rnnkit.cli.main
    except (FileNotFoundError, ValueError) as exc:
        print(f"rnnkit generate: {exc}", file=sys.stderr)
        return 2
    return 0
