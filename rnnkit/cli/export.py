"""``rnnkit export DIR --format onnx --out OUT``: a folder that runs on onnxruntime.

``OUT`` holds the graphs, the tokenizer and a config; ``rnnkit generate/predict/evaluate OUT``
run it on onnxruntime (see ``rnnkit.export``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    ex = sub.add_parser(
        "export",
        help="export a trained model to ONNX (a folder that runs on onnxruntime)",
        description="Write OUT: the model's ONNX graphs, its tokenizer and tables, and a "
        "config. Language models and classifiers are exported; LSTM, GRU and RNN layers map "
        "onto ONNX's own recurrent operators, and configurations without one (layer norm, "
        "projections, MinGRU/MinLSTM) are refused by name.",
    )
    ex.add_argument("model_dir", help="run or model directory")
    ex.add_argument("--format", default="onnx", choices=["onnx"], help="export format")
    ex.add_argument("--out", required=True, help="the folder to write")
    ex.add_argument("--overwrite", action="store_true", help="replace an existing OUT")


def run(args: argparse.Namespace) -> int:
    try:
        from rnnkit.export import to_onnx

        out = to_onnx(Path(args.model_dir), Path(args.out), overwrite=args.overwrite)
    except ImportError as error:
        print(f"rnnkit export: needs the export extra (pip install 'rnnkit[export]'): {error}",
              file=sys.stderr)  # fmt: skip
        return 1
    files = ", ".join(sorted(p.name for p in out.iterdir() if p.suffix == ".onnx"))
    print(f"wrote {out} ({files})")
    return 0
