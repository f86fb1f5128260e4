"""``rnnkit translate DIR --input FILE|- [--beam 5]``: one translation per input line.

The input holds one source per line (a ``source<TAB>reference`` file works too: the reference
is ignored). ``--n-best K`` writes K lines per input, ``index<TAB>score<TAB>translation``.
``--attention out.png`` saves the source-by-target attention heatmap of the best translation
(``out_2.png`` ... for later inputs).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from rnnkit.cli.runtime_option import add_runtime_option, model_path
from rnnkit.data import DataError
from rnnkit.errors import ModelFileError, RnnkitError


def add_parser(sub: argparse._SubParsersAction) -> None:
    tr = sub.add_parser(
        "translate",
        help="translate (or reply to) each input line with a trained encoder-decoder",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tr.add_argument("model_dir", help="run or model directory")
    tr.add_argument("--input", required=True, help="one source per line, or - for standard input")
    tr.add_argument("--beam", type=int, default=5, help="beam size (1: greedy)")
    tr.add_argument("--n-best", type=int, default=1, help="hypotheses per input (<= beam)")
    tr.add_argument("--max-length", type=int, help="most output tokens (default 2*source+10)")
    tr.add_argument("--length-penalty", type=float, default=1.0, help="GNMT length penalty alpha")
    tr.add_argument("--attention", type=Path, help="save the attention heatmap as this PNG")
    tr.add_argument(
        "--no-constrain",
        action="store_true",
        help="do not force each source placeholder to appear exactly once",
    )
    tr.add_argument("--min-length", type=int, default=0, help="fewest output tokens")
    tr.add_argument(
        "--no-repeat-ngram-size",
        type=int,
        default=None,
        help="forbid repeating any n-gram of target tokens of this size (0: off; default: the "
        "model's, 3 unless it was trained with another --data.no_repeat_ngram_size)",
    )
    tr.add_argument(
        "--allow-repeated-phrases",
        action="store_true",
        help="let a translation say a phrase twice in a row (forbidden by default)",
    )
    add_runtime_option(tr)


def _attention_path(base: Path, k: int) -> Path:
    return base if k == 0 else base.with_name(f"{base.stem}_{k + 1}{base.suffix}")


def run(args: argparse.Namespace) -> int:
    from rnnkit.data.parallel import read_parallel
    from rnnkit.tasks.predictors import load

    try:
        if args.n_best > args.beam:
            raise ValueError(f"--n-best ({args.n_best}) must not exceed --beam ({args.beam})")
        stack = contextlib.ExitStack()
        with stack:
            translator = load(model_path(Path(args.model_dir), args.runtime, stack))
            if translator.task != "translate":
                raise ModelFileError(
                    f"{args.model_dir}: not a translation model (task {translator.task!r})"
                )
            sources = [e.source for e in read_parallel(args.input, require_target=False)]
            results = translator.translate(  # type: ignore[attr-defined]
                sources, beam=args.beam, n_best=args.n_best, max_length=args.max_length,
                length_penalty=args.length_penalty, attention=args.attention is not None,
                constrain=False if args.no_constrain else None, min_length=args.min_length,
                no_repeat_ngram_size=args.no_repeat_ngram_size,
                no_adjacent_repeats=False if args.allow_repeated_phrases else None,
            )  # fmt: skip
    except RnnkitError:
        raise  # one line and exit status 1, from rnnkit.cli.main
    except (DataError, FileNotFoundError, ValueError) as exc:
        print(f"rnnkit translate: {exc}", file=sys.stderr)
        return 2
    for i, result in enumerate(results):
        if args.n_best == 1:
            print(result.text)
        else:
            for text, score in result.n_best:
                print(f"{i}\t{score:.4f}\t{text}")
    if args.attention is not None:
        from rnnkit.viz import plot_attention

        if results[0].attention is None:
            print("rnnkit translate: this model has no attention to draw", file=sys.stderr)
            return 2
        for k, result in enumerate(results):
            path = _attention_path(args.attention, k)
            plot_attention(result.attention, result.source_tokens, result.target_tokens, path)
            print(f"attention: {path}", file=sys.stderr)
    return 0
