"""``rnnkit quantize DIR --out DIR8``: int8 weights, for a model directory or an ONNX export.

A model directory gets int8 matrices with one scale per output row (``rnnkit.models.quantized``),
loaded by every command. An exported folder gets onnxruntime's dynamic quantization (int8
weights, activations quantized on the fly), run by onnxruntime.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    qu = sub.add_parser(
        "quantize",
        help="store a model's weights as int8 (a model directory or an ONNX export)",
        description="Write DIR8 from DIR. A model directory: int8 weight matrices with one "
        "scale per output row (symmetric), biases and activations float; every command loads "
        "it. An exported folder (rnnkit export): onnxruntime's dynamic int8 quantization.",
    )
    qu.add_argument("model_dir", help="run or model directory, or an exported folder")
    qu.add_argument("--out", required=True, help="the directory to write")
    qu.add_argument("--overwrite", action="store_true", help="replace an existing OUT")


def run(args: argparse.Namespace) -> int:
    from rnnkit.export.quantize import quantize

    out = quantize(Path(args.model_dir), Path(args.out), overwrite=args.overwrite)
    print(f"wrote {out}")
    return 0
