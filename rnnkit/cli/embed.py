"""``rnnkit embed DIR --input FILE|- [--layer K | --mix] [--json] [--output PATH]``.

Contextual word vectors from a trained biLM (``rnnkit train bilm``), one sentence per input
line, tokenized as the biLM was trained. By default the top layer; ``--layer K`` one layer
(0: the token layer, 1..L: the LSTM layers, each forward and backward concatenated); ``--mix``
the equal average of all layers. ``--output`` writes ``.npz``, ``.npy`` (+ ``.offsets.npy``),
``.safetensors`` (arrays ``vectors`` (N_tokens, D) and ``offsets``: line i is
``vectors[offsets[i]:offsets[i + 1]]``) or ``.jsonl``; without it, or with ``--json``, one JSON
line ``{"tokens": [...], "vectors": [[...], ...]}`` per input line goes to standard output.
A blank line gives an empty entry, so outputs stay aligned with input lines.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnkit.data import DataError
from rnnkit.errors import RnnkitError


def add_parser(sub: argparse._SubParsersAction) -> None:
    em = sub.add_parser(
        "embed",
        help="contextual word vectors from a trained biLM",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    em.add_argument("model_dir", help="run or model directory of a biLM")
    em.add_argument("--input", required=True, help="one sentence per line, or - for stdin")
    which = em.add_mutually_exclusive_group()
    which.add_argument("--layer", type=int, help="one layer (0: tokens, 1..L: LSTM layers)")
    which.add_argument("--mix", action="store_true", help="the average of all layers")
    em.add_argument("--output", type=Path, help="file (.npz, .npy, .safetensors or .jsonl)")
    em.add_argument("--json", action="store_true", help="JSON lines (to --output or stdout)")


def run(args: argparse.Namespace) -> int:
    from rnnkit.data.readers import iter_lines, read_source
    from rnnkit.tasks.embed import write_embeddings
    from rnnkit.tasks.predictors import load

    try:
        _, text = read_source(args.input)
        lines = [line for _, line in iter_lines(text.rstrip("\n"))]
        bilm = load(args.model_dir)
        if bilm.task != "bilm":
            raise ValueError(f"{args.model_dir}: not a bidirectional LM (task {bilm.task!r})")
        results = bilm.embed(lines, args.layer, args.mix)  # type: ignore[attr-defined]
        tokens = [r.tokens for r in results]
        write_embeddings([r.vectors for r in results], args.output,
                         "jsonl" if args.json else None, tokens)  # fmt: skip
    except RnnkitError:
        raise  # one line and exit status 1, from rnnkit.cli.main
    except (DataError, FileNotFoundError, ValueError, IndexError) as exc:
        print(f"rnnkit embed: {exc}", file=sys.stderr)
        return 2
    if args.output is not None:
        print(f"{len(lines)} lines, {sum(len(t) for t in tokens)} tokens -> {args.output}",
              file=sys.stderr)  # fmt: skip
    return 0
