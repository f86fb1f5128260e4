"""Paired A/B timing of layer calls between two source trees of rnnkit (old vs new).

Each round runs one process per tree, alternating, and each process times every case; a case's
ratio is new/old per round, reported as the median over rounds with the per-tree medians. The
machine may be shared and noisy: medians, and the rounds alternate so drift hits both trees.

    python benchmarks/ab_layers.py OLD_TREE NEW_TREE [--rounds 5] [--hidden 512] [--steps 128]
        [--layers lstm,gru,peephole,layer_norm,reset_before,mingru,minlstm]

LSTM and GRU also time the batch-1 token step and a training call with lengths.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import write_result

CHILD = r"""
import json, sys, time, torch
import rnnkit
torch.manual_seed(0)
hidden, steps, calls = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
names = sys.argv[4].split(",")
x = torch.randn(32, steps, hidden)
tok = torch.randn(1, 1, hidden)
out = {}

def timed(fn, n):
    for _ in range(2):
        fn()
    times = []
    for _ in range(n):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]

LAYERS = {
    "lstm": lambda: rnnkit.LSTM(hidden, hidden),
    "gru": lambda: rnnkit.GRU(hidden, hidden),
    "peephole": lambda: rnnkit.LSTM(hidden, hidden, peephole=True),
    "layer_norm": lambda: rnnkit.LSTM(hidden, hidden, layer_norm=True),
    "reset_before": lambda: rnnkit.GRU(hidden, hidden, reset_after=False),
    "mingru": lambda: rnnkit.MinGRU(hidden, hidden),
    "minlstm": lambda: rnnkit.MinLSTM(hidden, hidden),
}
for name in names:
    layer = LAYERS[name]()
    def train():
        layer(x)[0].sum().backward()
    def infer():
        with torch.no_grad():
            layer(x)
    def step():
        with torch.no_grad():
            layer(tok)
    out[f"{name} train"] = timed(train, calls)
    out[f"{name} inference"] = timed(infer, calls)
    if name not in ("lstm", "gru"):
        continue
    out[f"{name} token step (batch 1)"] = timed(step, 50 * calls)
    lengths = torch.randint(steps // 2, steps + 1, (32,))
    lengths[0] = steps
    def with_lengths():
        layer(x, lengths=lengths)[0].sum().backward()
    out[f"{name} train, lengths"] = timed(with_lengths, calls)
print(json.dumps(out))
"""


LAYER_NAMES = ["lstm", "gru", "peephole", "layer_norm", "reset_before", "mingru", "minlstm"]


def _run(tree: str, hidden: int, steps: int, calls: int, layers: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=tree)
    args = [sys.executable, "-c", CHILD, str(hidden), str(steps), str(calls), layers]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True, cwd=tree)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--steps", type=int, default=128)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--name", default=None, help="also write benchmarks/results/NAME.json")
    parser.add_argument("--layers", default="lstm,gru", help="from " + ",".join(LAYER_NAMES))
    args = parser.parse_args()
    unknown = set(args.layers.split(",")) - set(LAYER_NAMES)
    if unknown:
        parser.error(f"unknown layers {sorted(unknown)}; choose from {LAYER_NAMES}")
    old, new = [], []
    for _ in range(args.rounds):
        old.append(_run(args.old, args.hidden, args.steps, args.calls, args.layers))
        new.append(_run(args.new, args.hidden, args.steps, args.calls, args.layers))
    print(f"hidden {args.hidden}, batch 32, T {args.steps}, {args.rounds} alternating rounds "
          "(medians; new/old < 1 is faster)")  # fmt: skip
    print(f"{'case':28s} {'old ms':>9s} {'new ms':>9s} {'new/old':>8s}")
    rows = []
    for case in old[0]:
        a = statistics.median(r[case] for r in old) * 1e3
        b = statistics.median(r[case] for r in new) * 1e3
        ratios = [n[case] / o[case] for o, n in zip(old, new)]
        ratio = statistics.median(ratios)
        print(f"{case:28s} {a:9.3f} {b:9.3f} {ratio:8.3f}")
        rows.append({"case": case, "old_ms": round(a, 3), "new_ms": round(b, 3),
                     "new_over_old": round(ratio, 3),
                     "range": [round(min(ratios), 3), round(max(ratios), 3)]})  # fmt: skip
    if args.name:
        trees = {"old": _describe(args.old), "new": _describe(args.new)}
        write_result(args.name, {"hidden": args.hidden, "batch": 32, "steps": args.steps,
                                 "rounds": args.rounds, "calls": args.calls, "trees": trees,
                                 "rows": rows})  # fmt: skip


def _describe(tree: str) -> str:
    """The tree's commit (and whether it has changes), for the result file."""
    git = ["git", "-C", tree]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True)
    return head.stdout.strip() + (" (with changes)" if dirty.stdout.strip() else "")


if __name__ == "__main__":
    main()
