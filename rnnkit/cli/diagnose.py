"""``rnnkit diagnose gradients``: plot ||dL_T/dh_t|| for Elman, LSTM and GRU language models,
freshly initialised and after a short training run on the same text."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch


def add_parser(sub: argparse._SubParsersAction) -> None:
    diag = sub.add_parser("diagnose", help="diagnostics")
    kinds = diag.add_subparsers(dest="kind", required=True)
    g = kinds.add_parser("gradients", help="gradient flow through time, rnn vs lstm vs gru")
    g.add_argument("--out", default="gradients.png", help="PNG to write (numbers go beside it)")
    g.add_argument("--data", help="text file (default: the bundled Shakespeare)")
    g.add_argument("--model", help="also measure this trained LM directory")
    g.add_argument(
        "--cells", type=_cells, default="rnn,lstm,gru", help="comma-separated cells to compare"
    )
    g.add_argument("--length", type=int, default=100, help="T: steps between input and loss")
    g.add_argument("--hidden-size", type=int, default=128)
    g.add_argument("--train-steps", type=int, default=200, help="steps of training (0: fresh only)")
    g.add_argument("--seed", type=int, default=0)


#: sequences of T + 1 tokens in the probe batch whose gradients are measured
PROBES = 16


def _probe(ids: torch.Tensor, length: int, source: str) -> torch.Tensor:
    """(PROBES, T + 1) token ids from the start of ``ids``; a text too short is a data error."""
    from rnnkit.data import DataError

    need = PROBES * (length + 1)
    if ids.numel() < need:
        raise DataError(
            f"{source}: too short for --length {length} (needs {need} tokens, has {ids.numel()})"
        )
    return ids[:need].view(PROBES, length + 1)


def _cells(text: str) -> list[str]:
    """The cells named in ``--cells`` (an argparse ``type``: an unknown one is a usage error)."""
    from rnnkit.layers.factory import LAYERS

    cells = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in cells if c.lower() not in LAYERS] or ([] if cells else [text])
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown cell {unknown[0]!r}; choose from {', '.join(sorted(LAYERS))}"
        )
    return cells


def run(args: argparse.Namespace) -> int:
    from rnnkit.data import LMStream, build_tokenizer, load_bundled, read_text
    from rnnkit.errors import ModelFileError
    from rnnkit.models import LanguageModel
    from rnnkit.models.io import load_model_dir, read_meta
    from rnnkit.training import Trainer, TrainerConfig
    from rnnkit.viz import gradient_norms, plot_gradient_flow

    if args.model:  # checked before minutes of measuring, not after
        task = read_meta(Path(args.model)).get("task")
        if task != "lm":
            raise ModelFileError(f"{args.model}: not a language model (task {task!r})")
    source = args.data or "the bundled text"
    text = read_text(args.data) if args.data else load_bundled()
    tokenizer = build_tokenizer("char", text)
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    probe = _probe(ids, args.length, source)
    curves: dict[str, dict[str, list[float]]] = {}
    for cell in args.cells:
        torch.manual_seed(args.seed)
        lm = LanguageModel(
            tokenizer.vocab_size,
            cell=cell,
            embedding_size=64,
            hidden_size=args.hidden_size,
            num_layers=1,
            tie_weights=False,
            dropout=0.0,
        )
        curves[cell] = {"fresh": gradient_norms(lm, probe).tolist()}
        if args.train_steps > 0:
            cfg = TrainerConfig(
                max_steps=args.train_steps, lr=2e-3, progress=False, log_every=10**9, seed=args.seed
            )
            Trainer(lm, LMStream(ids, 32, args.length, seed=args.seed), cfg, device="cpu").fit()
            curves[cell][f"after {args.train_steps} steps"] = gradient_norms(lm, probe).tolist()
        print(f"{cell}: measured", file=sys.stderr)
    if args.model:
        model, tok, _ = load_model_dir(Path(args.model))
        prefix = text[: 64 * PROBES * (args.length + 1)]  # enough for tokens of up to 64 characters
        ids_m = torch.tensor(tok.encode(prefix), dtype=torch.long)
        probe_m = _probe(ids_m, args.length, f"{source} in {args.model}'s tokens")
        curves[f"model {args.model}"] = {"trained model": gradient_norms(model, probe_m).tolist()}
    out = plot_gradient_flow(curves, Path(args.out), title=f"||dL_T/dh_t||, T = {args.length}")
    numbers = out.with_suffix(".json")
    numbers.write_text(json.dumps(curves) + "\n")
    print(f"wrote {out} and {numbers}")
    return 0
