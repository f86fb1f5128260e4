"""Paired A/B timing of layer calls between two source trees of rnnkit (old vs new).

Each round runs one process per tree, alternating, and each process times every case; a case's
ratio is new/old per round, reported as the median over rounds with the per-tree medians. The
machine may be shared and noisy: medians, and the rounds alternate so drift hits both trees.

    python benchmarks/ab_layers.py OLD_TREE NEW_TREE [--rounds 5] [--hidden 512] [--steps 128]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time, torch
import rnnkit
torch.manual_seed(0)
hidden, steps, calls = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
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

for name, cls in (("lstm", rnnkit.LSTM), ("gru", rnnkit.GRU)):
    layer = cls(hidden, hidden)
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
    out[f"{name} token step (batch 1)"] = timed(step, 50 * calls)
    lengths = torch.randint(steps // 2, steps + 1, (32,))
    lengths[0] = steps
    def with_lengths():
        layer(x, lengths=lengths)[0].sum().backward()
    out[f"{name} train, lengths"] = timed(with_lengths, calls)
print(json.dumps(out))
"""


def _run(tree: str, hidden: int, steps: int, calls: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=tree)
    args = [sys.executable, "-c", CHILD, str(hidden), str(steps), str(calls)]
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
    args = parser.parse_args()
    old, new = [], []
    for _ in range(args.rounds):
        old.append(_run(args.old, args.hidden, args.steps, args.calls))
        new.append(_run(args.new, args.hidden, args.steps, args.calls))
    print(f"hidden {args.hidden}, batch 32, T {args.steps}, {args.rounds} alternating rounds "
          "(medians; new/old < 1 is faster)")  # fmt: skip
    print(f"{'case':28s} {'old ms':>9s} {'new ms':>9s} {'new/old':>8s}")
    for case in old[0]:
        a = statistics.median(r[case] for r in old) * 1e3
        b = statistics.median(r[case] for r in new) * 1e3
        ratio = statistics.median(n[case] / o[case] for o, n in zip(old, new))
        print(f"{case:28s} {a:9.3f} {b:9.3f} {ratio:8.3f}")


if __name__ == "__main__":
    main()
