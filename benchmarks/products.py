"""Recurrent-step matrix products: PyTorch's addmm (MKL) against oneDNN with a packed weight.

    python benchmarks/products.py

For each shape (rows N, inputs K, outputs M) it times y = x W^T + b both ways in the same run,
alternating, median of ``--repeats`` blocks of ``--calls`` calls, and writes
benchmarks/results/products.json. The shapes are those of rnnkit's step loops: batch 32 with
hidden 512 (GRU 3H, LSTM 4H, and the backward product dh = dgates W), and batch 1 generation
with a 2-layer LSTM of 512 over inputs of 256.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import write_result

from rnnkit.backends import onednn

SHAPES = [(32, 512, 1536), (32, 1536, 512), (32, 512, 2048), (32, 2048, 512), (1, 768, 2048),
          (1, 1024, 2048), (64, 1024, 4096)]  # fmt: skip


def _block(fn, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def measure(n: int, k: int, m: int, calls: int, repeats: int) -> dict:
    torch.manual_seed(0)
    x, w, b = torch.randn(n, k), torch.randn(m, k) * 0.05, torch.randn(m)
    packed = onednn.pack(w, n)
    ways = {"addmm": lambda: torch.addmm(b, x, w.t()),
            "onednn": lambda: onednn.linear(x, packed, b)}  # fmt: skip
    error = (ways["addmm"]() - ways["onednn"]()).abs().max().item()
    times: dict[str, list[float]] = {key: [] for key in ways}
    for fn in ways.values():
        _block(fn, 5)  # warm-up
    for r in range(repeats):
        for key in list(ways) if r % 2 == 0 else list(ways)[::-1]:
            times[key].append(_block(ways[key], calls))
    us = {key: round(1e6 * statistics.median(v), 1) for key, v in times.items()}
    row = {"rows": n, "inputs": k, "outputs": m, "addmm_us": us["addmm"],
           "onednn_us": us["onednn"], "speedup": round(us["addmm"] / us["onednn"], 2),
           "max_abs_difference": error}  # fmt: skip
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if not onednn.available(torch.zeros(1)):
        raise SystemExit("oneDNN's linear operators are not available in this PyTorch build")
    rows = [measure(n, k, m, args.calls, args.repeats) for n, k, m in SHAPES]
    write_result("products", {"calls": args.calls, "repeats": args.repeats, "rows": rows,
                              "threads": torch.get_num_threads()})  # fmt: skip


if __name__ == "__main__":
    main()
