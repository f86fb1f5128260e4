"""The native kernels built with the old flags (``-ffast-math``) against the current IEEE flags.

    python benchmarks/kernel_flags.py              # 21 rounds, 1 thread; writes
                                                   # results/kernel_flags.json
    python benchmarks/kernel_flags.py --rounds 31 --threads 2

Both builds of every kernel are loaded into this one process and swapped in and out of
``rnnkit.kernels.build``'s table of loaded libraries, so each workload runs the same layers on
the same tensors with one build or the other. Every round times each workload once per build,
back to back (each the fastest of ``--repeats`` calls, which drops the calls another process
interrupted), and alternates which build goes first; ``paired_ratio`` is the median over rounds
of (current time / old time), which cancels slow drifts in the machine's load (above 1: the
current flags are slower); ``paired_range`` gives the smallest and largest per-round ratio.

The old build compiles with ``-O3 -march=native -ffast-math`` exactly as before, and links
without it: a ``-ffast-math`` link adds ``crtfastmath.o``, which would set flush-to-zero for the
whole process (the bug the new flags fix) and so change how the current build runs too. The
code of both builds comes from the same C sources. ``max_abs_diff`` is the largest difference
between the two builds' outputs of each workload: float32 rounding, which the layer-norm LSTM
amplifies over its steps (either build's output differs from a float64 run by about as much).
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import write_result

import rnnkit
from rnnkit.kernels import build

OLD_FLAGS = ["-O3", "-march=native", "-ffast-math", "-fPIC", "-pthread"]
IN, H, N = 256, 512, 8


def _train(layer: torch.nn.Module, x: torch.Tensor) -> Callable[[], torch.Tensor]:
    def run() -> torch.Tensor:
        out, _ = layer(x)
        out.sum().backward()
        layer.zero_grad(set_to_none=True)
        return out.detach()

    return run


def _steps(layer: torch.nn.Module, rows: int, steps: int) -> Callable[[], torch.Tensor]:
    xs = torch.randn(steps, rows, 1, IN)
    layer.eval()

    def run() -> torch.Tensor:
        state, outs = None, []
        with torch.no_grad():
            for x in xs:
                out, state = layer(x, state)
                outs.append(out)
        return torch.cat(outs, 1)

    return run


def workloads() -> dict[str, Callable[[], torch.Tensor]]:
    """Each kernel through its layer: hidden 512, input 256, batch 8, fp32."""
    torch.manual_seed(0)
    long, short = torch.randn(N, 128, IN), torch.randn(N, 32, IN)
    return {
        "mingru_train_T128": _train(rnnkit.MinGRU(IN, H), long),
        "minlstm_train_T128": _train(rnnkit.MinLSTM(IN, H), long),
        "lstm_peephole_train_T32": _train(rnnkit.LSTM(IN, H, peephole=True), short),
        "lstm_layer_norm_train_T32": _train(rnnkit.LSTM(IN, H, layer_norm=True), short),
        "gru_train_T32": _train(rnnkit.GRU(IN, H), short),
        "lstm_2x512_generation_32_steps": _steps(rnnkit.LSTM(IN, H, num_layers=2), 1, 32),
        "lstm_12_rows_32_steps": _steps(rnnkit.LSTM(IN, H), 12, 32),
    }


def build_old(name: str, folder: Path) -> ctypes.CDLL:
    """``name`` compiled with the old flags, linked without the fast-math start file."""
    compiler = build._compiler()
    source = Path(build.__file__).with_name(f"{name}.c")
    obj, lib = folder / f"{name}.o", folder / f"{name}.so"
    compile_cmd = [compiler, *OLD_FLAGS, *build.OPENMP, "-c", str(source), "-o", str(obj)]
    subprocess.run(compile_cmd, check=True)
    link = [compiler, "-shared", "-pthread", *build.OPENMP, str(obj), "-o", str(lib), *build.LIBS]
    subprocess.run(link, check=True)
    return ctypes.CDLL(str(lib))


def with_signatures(old: ctypes.CDLL, new: ctypes.CDLL) -> ctypes.CDLL:
    """Give ``old`` the argument and return types ``build.load`` set on ``new``."""
    for attr, fn in vars(new).items():
        if isinstance(fn, ctypes._CFuncPtr):
            entry = getattr(old, attr)
            entry.argtypes, entry.restype = fn.argtypes, fn.restype
    return old


def _time(fn: Callable[[], torch.Tensor]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--repeats", type=int, default=3, help="calls per build and round")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = workloads()
    outputs = {name: run() for name, run in runs.items()}  # loads the current build
    current = {k: v for k, v in build._loaded.items() if v is not None}
    folder = Path(tempfile.mkdtemp(prefix="rnnkit-old-flags-"))
    old = {name: with_signatures(build_old(name, folder), lib) for name, lib in current.items()}
    builds = {"old": old, "current": current}
    times: dict[str, dict[str, list[float]]] = {k: {"old": [], "current": []} for k in runs}
    diffs = {}
    for name, run in runs.items():
        build._loaded.update(old)
        diffs[name] = float((run() - outputs[name]).abs().max())
    for r in range(args.rounds):
        order = ["old", "current"] if r % 2 == 0 else ["current", "old"]
        for name, run in runs.items():
            for which in order:
                build._loaded.update(builds[which])
                times[name][which].append(min(_time(run) for _ in range(args.repeats)))
    build._loaded.update(current)
    rows = {}
    for name, t in times.items():
        ratios = [c / o for c, o in zip(t["current"], t["old"])]
        rows[name] = {
            "old_ms": round(1e3 * statistics.median(t["old"]), 2),
            "current_ms": round(1e3 * statistics.median(t["current"]), 2),
            "paired_ratio": round(statistics.median(ratios), 4),
            "paired_range": [round(min(ratios), 4), round(max(ratios), 4)],
            "max_abs_diff": diffs[name],
        }
    write_result(
        "kernel_flags",
        {
            "old_flags": " ".join(OLD_FLAGS) + " (linked without it)",
            "current_flags": " ".join(build.FLAGS),
            "rounds": args.rounds,
            "repeats": args.repeats,
            "threads": torch.get_num_threads(),
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
