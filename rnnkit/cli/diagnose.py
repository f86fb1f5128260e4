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
    g.add_argument("--cells", default="rnn,lstm,gru", help="comma-separated cells to compare")
    g.add_argument("--length", type=int, default=100, help="T: steps between input and loss")
    g.add_argument("--hidden-size", type=int, default=128)
    g.add_argument("--train-steps", type=int, default=200, help="steps of training (0: fresh only)")
    g.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from rnnkit.data import LMStream, build_tokenizer, load_bundled, read_text
    from rnnkit.models import LanguageModel
    from rnnkit.models.io import load_model_dir
    from rnnkit.training import Trainer, TrainerConfig
    from rnnkit.viz import gradient_norms, plot_gradient_flow

    text = read_text(args.data) if args.data else load_bundled()
    tokenizer = build_tokenizer("char", text)
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    probe = ids[: 16 * (args.length + 1)].view(16, args.length + 1)  # 16 sequences of T+1
    curves: dict[str, dict[str, list[float]]] = {}
    for cell in [c.strip() for c in args.cells.split(",") if c.strip()]:
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
        ids_m = torch.tensor(tok.encode(text[: 64 * args.length]), dtype=torch.long)
        probe_m = ids_m[: 16 * (args.length + 1)].view(16, args.length + 1)
        curves[f"model {args.model}"] = {"trained model": gradient_norms(model, probe_m).tolist()}
    out = plot_gradient_flow(curves, Path(args.out), title=f"||dL_T/dh_t||, T = {args.length}")
    numbers = out.with_suffix(".json")
    numbers.write_text(json.dumps(curves) + "\n")
    print(f"wrote {out} and {numbers}")
    return 0
