"""Where a speed row's time goes: PyTorch's profiler over rnnkit's call and its baseline's.

    python benchmarks/speed_profile.py --rows lstm_peephole:infer:512:32:1024,gru:infer:512:1:128
        [--calls 5] [--top 6] [--name speed_profile]

Each row is ``layer:mode:hidden:batch:T`` with the layers and baselines of ``speed.py`` (built
and called the same way: input size 256, fp32, training = forward plus ``out.sum().backward()``,
inference = a forward pass under ``torch.no_grad()`` in eval mode). Both layers are called
twice to warm up, then timed over ``--calls`` calls (wall ms per call, the median) and profiled
over as many more with ``torch.profiler`` (CPU). Per layer the result gives:

- ``ms_per_call`` and ``us_per_step`` (the call over T);
- ``operators``: the operators with the most self CPU time, each with its calls per layer call
  and its self time per layer call (ms) and share of the profiled call's wall time (the
  profiler slows the calls a little: ``profiled_ms_per_call``);
- ``outside_operators_share``: the share of the profiled wall time spent in no PyTorch operator
  (Python between operators, and rnnkit's native kernels where they are called outside an
  autograd function's forward: inside one, they count in that function's own self time).

Writes benchmarks/results/NAME.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import timed, write_result
from speed import INPUT, PAIRS, _call


def parse_row(text: str) -> tuple[str, str, int, int, int]:
    layer, mode, hidden, batch, steps = text.split(":")
    if layer not in PAIRS or mode not in {"train", "infer"}:
        raise SystemExit(f"bad row {text!r}: layer from {list(PAIRS)}, mode train or infer")
    return layer, mode, int(hidden), int(batch), int(steps)


def profile_layer(layer: nn.Module, x: torch.Tensor, train: bool, calls: int, top: int) -> dict:
    """Time and profile ``calls`` calls of ``layer`` on ``x`` (see the module text)."""
    call = lambda: _call(layer, x, train)  # noqa: E731
    for _ in range(2):
        call()
    wall = statistics.median(timed(call) for _ in range(calls))
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(calls):
            call()
        profiled = (time.perf_counter() - start) / calls * 1e3  # ms per call, profiler on
    events = prof.key_averages()
    total_self = sum(e.self_cpu_time_total for e in events) / calls / 1e3  # ms per call
    ops = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    ms = wall * 1e3
    return {
        "ms_per_call": round(ms, 3),
        "us_per_step": round(ms * 1e3 / x.shape[1], 2),
        "profiled_ms_per_call": round(profiled, 3),
        "operators": [
            {
                "name": e.key,
                "calls_per_call": round(e.count / calls, 1),
                "self_ms_per_call": round(e.self_cpu_time_total / calls / 1e3, 3),
                "share": round(e.self_cpu_time_total / calls / 1e3 / profiled, 3),
            }
            for e in ops
        ],
        "outside_operators_share": round(max(0.0, 1 - total_self / profiled), 3),
    }


def profile_row(row: str, calls: int, top: int) -> dict[str, Any]:
    name, mode, hidden, batch, steps = parse_row(row)
    train = mode == "train"
    make_ours, make_base = PAIRS[name]
    torch.manual_seed(0)
    x = torch.randn(batch, steps, INPUT)
    result: dict[str, Any] = {"layer": name, "mode": mode, "hidden": hidden, "batch": batch,
                              "steps": steps}  # fmt: skip
    for key, make in (("torch", make_base), ("rnnkit", make_ours)):
        layer = make(INPUT, hidden).train(train)
        if key == "rnnkit":
            result["backend"] = layer.backend.name
        result[key] = profile_layer(layer, x, train, calls, top)
    result["ratio"] = round(result["torch"]["ms_per_call"] / result["rnnkit"]["ms_per_call"], 3)
    print(result, flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", required=True, help="layer:mode:hidden:batch:T, comma-separated")
    parser.add_argument("--calls", type=int, default=5, help="calls timed, and calls profiled")
    parser.add_argument("--top", type=int, default=6, help="operators kept per layer")
    parser.add_argument("--name", default="speed_profile", help="results file name")
    args = parser.parse_args()
    rows = [profile_row(r, args.calls, args.top) for r in args.rows.split(",")]
    write_result(args.name, {"calls": args.calls, "threads": torch.get_num_threads(),
                             "rows": rows})  # fmt: skip


if __name__ == "__main__":
    main()
