"""Speed of rnnkit's layers against torch.nn.LSTM / nn.GRU, measured in the same run.

    python benchmarks/speed.py --quick          # hidden 512, batch 32, T 128 and 1024
    python benchmarks/speed.py                  # the full grid (hidden 256/512/1024, batch
                                                # 1/32/64, T 128/1024): an hour or more on 2 cores

For every configuration each rnnkit layer and its PyTorch baseline of the same size run in
turn (each goes first on alternate repeats), after one warm-up call each. Two ratios are
written: ``ratio``, of the median times over the rounds (``--repeats``, and more for short
calls until rnnkit's add up to ``--min-seconds``, at most ``MAX_ROUNDS``; ``rounds`` in each
row), and ``paired_ratio``, the
median over repeats of each repeat's own ratio (the baseline's call and rnnkit's, back to back),
which cancels slow drifts in the machine's load; ``paired_range`` gives the smallest and largest
of those per-repeat ratios. Targets are read from ``paired_ratio``. Training is forward plus
``out.sum().backward()``; inference is a forward pass under ``torch.no_grad()`` in eval mode.
Input size 256, fp32. Also measured: the first call of a freshly built layer (any set-up cost
shows here), the memory saved for backward by one training call (the sum of the tensors autograd
keeps, a proxy for activation memory), and the batch-1 step (``layer(x_t, state)``, 2 layers,
hidden 512, no grad) against calling ``torch.nn.LSTM`` step by step (measured first, and again
after the training calls; the GRU's against ``torch.nn.GRU`` once, at the end), and how long
building each of rnnkit's native kernels takes from an empty cache (their first use on a new
machine).

When Keras 3 is installed, its ``LSTM`` and ``GRU`` layers run as a third contestant in the
``lstm`` and ``gru`` rows (``keras_baseline.py``; ``--no-keras`` skips them): ``keras_tok_s`` and
``paired_ratio_vs_keras`` (rnnkit over Keras, per repeat, median), with the Keras backend in the
result file.

``--device cuda`` runs both sides on the GPU (inputs, layers and the step loops; each timed call
ends with ``torch.cuda.synchronize()``), where rnnkit's LSTM and GRU run PyTorch's cuDNN kernel
and the other cells their per-step operators; Keras is skipped there.

``--keep-freed-memory`` calls ``keep_freed_memory()`` first (glibc keeps freed blocks
mapped, so repeated calls stop page-faulting their activations in); it applies to the whole
process, baselines included.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras_baseline
from common import timed, write_result

import rnnkit
from rnnkit.memory import keep_freed_memory

INPUT = 256
#: the most rounds ``--min-seconds`` adds for short calls
MAX_ROUNDS = 101

#: name -> (rnnkit layer factory, baseline factory); both take (input, hidden)
PAIRS: dict[str, tuple[Callable[[int, int], nn.Module], Callable[[int, int], nn.Module]]] = {
    "lstm": (lambda i, h: rnnkit.LSTM(i, h), lambda i, h: nn.LSTM(i, h, batch_first=True)),
    "gru": (lambda i, h: rnnkit.GRU(i, h), lambda i, h: nn.GRU(i, h, batch_first=True)),
    "lstm_peephole": (lambda i, h: rnnkit.LSTM(i, h, peephole=True),
                      lambda i, h: nn.LSTM(i, h, batch_first=True)),
    "lstm_layer_norm": (lambda i, h: rnnkit.LSTM(i, h, layer_norm=True),
                        lambda i, h: nn.LSTM(i, h, batch_first=True)),
    "gru_reset_before": (lambda i, h: rnnkit.GRU(i, h, reset_after=False),
                         lambda i, h: nn.GRU(i, h, batch_first=True)),
    "mingru": (lambda i, h: rnnkit.MinGRU(i, h), lambda i, h: nn.GRU(i, h, batch_first=True)),
    "minlstm": (lambda i, h: rnnkit.MinLSTM(i, h), lambda i, h: nn.LSTM(i, h, batch_first=True)),
}  # fmt: skip


def _output(result: object) -> torch.Tensor:
    return result[0] if isinstance(result, tuple) else result  # type: ignore[index]


def _sync(device: torch.device) -> None:
    """Wait for the GPU's queued work, so a timed call ends when its kernels do."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _call(layer: nn.Module, x: torch.Tensor, train: bool) -> None:
    if train:
        _output(layer(x)).sum().backward()
        layer.zero_grad(set_to_none=True)
    else:
        with torch.no_grad():
            layer(x)
    _sync(x.device)


def saved_bytes(layer: nn.Module, x: torch.Tensor) -> int:
    """Bytes of the tensors autograd saves for backward in one training call."""
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = _output(layer(x))
    out.sum().backward()
    layer.zero_grad(set_to_none=True)
    return total


def compare(
    name: str,
    hidden: int,
    batch: int,
    steps: int,
    train: bool,
    repeats: int,
    keras: bool = False,
    min_seconds: float = 0.0,
    device: str = "cpu",
) -> dict:
    """Median tokens/s of rnnkit and the baseline (and Keras' layer, with ``keras``), in turn,
    and their ratios: ``repeats`` rounds, and more (up to ``MAX_ROUNDS``) until rnnkit's calls
    add up to ``min_seconds``, so short calls get enough rounds for a stable median."""
    make_ours, make_base = PAIRS[name]
    torch.manual_seed(0)
    x = torch.randn(batch, steps, INPUT, device=device)
    layers = {}
    calls: dict[str, Callable[[], None]] = {}
    for key, make in (("torch", make_base), ("rnnkit", make_ours)):
        layer = make(INPUT, hidden).to(device).train(train)
        layers[key] = layer
        calls[key] = lambda layer=layer: _call(layer, x, train)
    if keras and name in keras_baseline.LAYERS:
        calls["keras"] = keras_baseline.contestant(name, hidden, x.cpu().numpy(), train)
    first = {key: timed(call) for key, call in calls.items()}
    times: dict[str, list[float]] = {key: [] for key in calls}
    keys = list(calls)
    r = 0
    while r < repeats or (sum(times["rnnkit"]) < min_seconds and r < MAX_ROUNDS):
        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:  # each goes first in turn
            times[key].append(timed(calls[key]))
        r += 1
    tokens = batch * steps
    row = {
        "layer": name, "mode": "train" if train else "infer", "hidden": hidden, "batch": batch,
        "steps": steps, "backend": layers["rnnkit"].backend.name,
        "rnnkit_tok_s": round(tokens / statistics.median(times["rnnkit"])),
        "torch_tok_s": round(tokens / statistics.median(times["torch"])),
        "first_call_s": {k: round(v, 3) for k, v in first.items()}, "rounds": r,
    }  # fmt: skip
    row["ratio"] = round(row["rnnkit_tok_s"] / row["torch_tok_s"], 3)
    pairs = [b / a for a, b in zip(times["rnnkit"], times["torch"])]
    row["paired_ratio"] = round(statistics.median(pairs), 3)
    row["paired_range"] = [round(min(pairs), 3), round(max(pairs), 3)]
    if "keras" in times:
        row["keras_tok_s"] = round(tokens / statistics.median(times["keras"]))
        vs_keras = [b / a for a, b in zip(times["rnnkit"], times["keras"])]
        row["paired_ratio_vs_keras"] = round(statistics.median(vs_keras), 3)
    if train:
        row["saved_mb"] = {k: round(saved_bytes(v, x) / 2**20, 1) for k, v in layers.items()}
    print(row, flush=True)
    return row


def step_latency(repeats: int, tokens: int = 200, kind: str = "lstm", device: str = "cpu") -> dict:
    """ms per token of a batch-1, 2-layer, hidden-512 step loop, rnnkit vs PyTorch's layer of
    the same ``kind`` (``lstm`` or ``gru``) called step by step."""
    torch.manual_seed(0)
    ours = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU}[kind](INPUT, 512, num_layers=2)
    base = {"lstm": nn.LSTM, "gru": nn.GRU}[kind](INPUT, 512, num_layers=2, batch_first=True)
    ours, base = ours.to(device).eval(), base.to(device).eval()
    xs = torch.randn(tokens, 1, 1, INPUT, device=device)

    def loop(layer: nn.Module) -> None:
        with torch.no_grad():
            state = None
            for x_t in xs:
                _, state = layer(x_t, state)
        _sync(xs.device)

    loop(ours), loop(base)  # warm-up
    times: dict[str, list[float]] = {"torch": [], "rnnkit": []}
    for r in range(repeats):
        pairs = (("torch", base), ("rnnkit", ours))
        for key, layer in pairs if r % 2 == 0 else pairs[::-1]:
            times[key].append(timed(lambda layer=layer: loop(layer)))
    ms = {k: round(1000 * statistics.median(v) / tokens, 3) for k, v in times.items()}
    row = {"rnnkit_ms_per_token": ms["rnnkit"], "torch_ms_per_token": ms["torch"],
           "speedup": round(ms["torch"] / ms["rnnkit"], 2)}  # fmt: skip
    print("step", kind, row, flush=True)
    return row


def build_seconds() -> dict[str, float]:
    """Seconds to compile each native kernel into an empty cache (first use on a machine)."""
    from rnnkit.kernels import build

    compiler = build._compiler()
    if compiler is None:
        return {}
    times = {}
    with tempfile.TemporaryDirectory() as cache:
        for source in sorted(Path(build.__file__).parent.glob("*.c")):
            target = Path(cache) / f"{source.stem}.so"
            times[source.stem] = round(
                timed(lambda s=source, t=target: build._build(s, t, compiler)), 2
            )
    print("build", times, flush=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="hidden 512, batch 32 only")
    parser.add_argument("--layers", default=",".join(PAIRS), help=f"from {list(PAIRS)}")
    parser.add_argument("--hidden", default="256,512,1024")
    parser.add_argument("--batch", default="1,32,64")
    parser.add_argument("--steps", default="128,1024")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="call keep_freed_memory() first (whole process)",
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=2.0,
        help="add rounds beyond --repeats until rnnkit's calls take this long (short calls)",
    )
    parser.add_argument("--name", default="speed", help="result file benchmarks/results/NAME.json")
    parser.add_argument(
        "--no-keras", action="store_true", help="skip Keras even when it is installed"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda (Keras is skipped on cuda)")
    args = parser.parse_args()
    if args.device != "cpu" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: PyTorch sees no GPU here")
    on_cpu = args.device == "cpu"
    keras_backend = None if args.no_keras or not on_cpu else keras_baseline.backend()
    if keras_backend is not None and keras_backend not in keras_baseline.SUPPORTED:
        print(f"Keras backend {keras_backend!r} is not supported; Keras skipped", flush=True)
        keras_backend = None
    allocator = "default"
    if args.keep_freed_memory:
        allocator = "keep_freed_memory" if keep_freed_memory() else "default (not glibc)"
    hidden = [512] if args.quick else [int(v) for v in args.hidden.split(",")]
    batch = [32] if args.quick else [int(v) for v in args.batch.split(",")]
    # the step first, as in a process that only generates, and again after the training calls
    # (earlier runs measured it only there, 0.86-1.03 ms, against 0.43-0.72 ms in fresh processes)
    step = step_latency(args.repeats, device=args.device)
    rows = []
    for name in args.layers.split(","):
        for steps in (int(v) for v in args.steps.split(",")):
            for h in hidden:
                for b in batch:
                    for train in (True, False):
                        rows.append(compare(name, h, b, steps, train, args.repeats,
                                            keras=keras_backend is not None,
                                            min_seconds=args.min_seconds,
                                            device=args.device))  # fmt: skip
    write_result(args.name, {
        "input_size": INPUT, "repeats": args.repeats, "min_seconds": args.min_seconds,
        "threads": torch.get_num_threads(), "device": args.device,
        "allocator": allocator, "keras_backend": keras_backend, "rows": rows,
        "step_batch1_2x512": step,
        "step_batch1_2x512_after_training": step_latency(args.repeats, device=args.device),
        "step_batch1_2x512_gru": step_latency(args.repeats, kind="gru", device=args.device),
        "native_build_s": build_seconds() if on_cpu else {},
    })  # fmt: skip


if __name__ == "__main__":
    main()
