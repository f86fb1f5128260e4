"""PyTorch 2 compatibility matrix: every layer configuration under eager, torch.compile,
torch.export and torch.func.functional_call, with and without lengths; then the default
character LM's training step compiled against eager, paired in one run.

    python benchmarks/compat.py [--only lstm,gru] [--skip-lm] [--lm-steps 30] [--update]

Each cell of the matrix runs the layer on a tiny batch (N 3, L 6, H 8) in training mode and
compares with eager: ``compile`` (Inductor) the outputs, final states and every gradient;
``export`` a program with dynamic batch and length dimensions, run at another batch size and
length; ``functional_call`` with the parameter names and with the state dict's names, with
halved weights, against a twin module holding them. A cell is ``ok``, ``mismatch`` (it ran but
differed, with the largest difference) or ``error`` with PyTorch's message. The path each call
took (``layer.backend``) is recorded. Writes benchmarks/results/compat.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.export import Dim

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, write_result

import rnnkit

H_IN, HID = 5, 8
CONFIGS: dict[str, Callable[[], torch.nn.Module]] = {
    "rnn-tanh": lambda: rnnkit.RNN(H_IN, HID),
    "rnn-relu": lambda: rnnkit.RNN(H_IN, HID, nonlinearity="relu"),
    "lstm": lambda: rnnkit.LSTM(H_IN, HID),
    "lstm-peephole": lambda: rnnkit.LSTM(H_IN, HID, peephole=True),
    "lstm-layer-norm": lambda: rnnkit.LSTM(H_IN, HID, layer_norm=True),
    "lstm-projection": lambda: rnnkit.LSTM(H_IN, HID, proj_size=4),
    "gru-reset-after": lambda: rnnkit.GRU(H_IN, HID),
    "gru-reset-before": lambda: rnnkit.GRU(H_IN, HID, reset_after=False),
    "mingru": lambda: rnnkit.MinGRU(H_IN, HID),
    "minlstm": lambda: rnnkit.MinLSTM(H_IN, HID),
    "lstm-bidirectional": lambda: rnnkit.LSTM(H_IN, HID, bidirectional=True),
    "gru-stacked-2": lambda: rnnkit.GRU(H_IN, HID, num_layers=2),
    "lstm-stacked-bidirectional": lambda: rnnkit.LSTM(H_IN, HID, 2, bidirectional=True),
}
LENGTHS = torch.tensor([6, 2, 4])


def _flat(x: Any) -> list[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        return [x]
    return [t for part in x for t in _flat(part)] if x is not None else []


def _max_diff(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        return float("inf")
    return max(float((x - y).abs().max()) for x, y in zip(a, b))


def _forward_backward(layer: torch.nn.Module, call: Callable, x: torch.Tensor, lengths: Any):
    x = x.detach().clone().requires_grad_(True)
    layer.zero_grad(set_to_none=True)
    out, state = call(x, lengths=lengths)
    (out.pow(2).sum() + sum(t.pow(2).sum() for t in _flat(state))).backward()
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in layer.parameters()]
    return [out.detach(), *[t.detach() for t in _flat(state)], x.grad, *grads]


def _verdict(diff: float, path: str, seconds: float) -> dict[str, Any]:
    status = "ok" if diff <= 1e-4 else "mismatch"
    return {"status": status, "max_abs_diff": diff, "path": path, "seconds": round(seconds, 2)}


def check_compile(make: Callable, lengths: Any) -> dict[str, Any]:
    layer = make().train()
    x = torch.randn(3, 6, H_IN)
    torch._dynamo.reset()
    start = time.perf_counter()
    got = _forward_backward(layer, torch.compile(layer), x, lengths)
    path = layer.backend.name
    seconds = time.perf_counter() - start
    return _verdict(_max_diff(got, _forward_backward(layer, layer, x, lengths)), path, seconds)


def check_export(make: Callable, lengths: Any) -> dict[str, Any]:
    layer = make().eval()
    batch, steps = Dim("batch", min=1, max=256), Dim("steps", min=2, max=8192)
    x = torch.randn(3, 6, H_IN)
    args, dims = ((x,), ({0: batch, 1: steps},))
    if lengths is not None:
        args, dims = (x, None, lengths), ({0: batch, 1: steps}, None, {0: batch})
    start = time.perf_counter()
    program = torch.export.export(layer, args, dynamic_shapes=dims)
    path, seconds = layer.backend.name, time.perf_counter() - start
    x2 = torch.randn(5, 11, H_IN)
    again = (x2,) if lengths is None else (x2, None, torch.tensor([11, 3, 7, 1, 11]))
    diff = _max_diff(_flat(program.module()(*again)), _flat(layer(*again)))
    return _verdict(diff, path, seconds)


def check_functional_call(make: Callable, lengths: Any) -> dict[str, Any]:
    layer = make().train()
    x = torch.randn(3, 6, H_IN)
    start, worst = time.perf_counter(), 0.0
    for table in (dict(layer.named_parameters()), layer.state_dict()):
        halved = {k: v * 0.5 for k, v in table.items()}
        twin = copy.deepcopy(layer)
        twin.load_state_dict(halved)

        def call(inp, lengths=None, table=halved):
            return torch.func.functional_call(layer, table, (inp,), {"lengths": lengths})

        got = _flat(call(x, lengths))
        worst = max(worst, _max_diff(got, _flat(twin(x, lengths=lengths))))
    return _verdict(worst, layer.backend.name, time.perf_counter() - start)


CHECKS = {
    "compile": check_compile,
    "export": check_export,
    "functional_call": check_functional_call,
}


def run_matrix(names: list[str]) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        for with_lengths in (False, True):
            row: dict[str, Any] = {"config": name, "lengths": with_lengths}
            lengths = LENGTHS if with_lengths else None
            torch.manual_seed(0)
            eager = CONFIGS[name]().train()
            out = eager(torch.randn(3, 6, H_IN), lengths=lengths)
            row["eager"] = {"status": "ok", "path": eager.backend.name, "shapes": [
                list(t.shape) for t in _flat(out)]}  # fmt: skip
            for check, fn in CHECKS.items():
                torch.manual_seed(0)
                try:
                    row[check] = fn(CONFIGS[name], lengths)
                except Exception as error:  # the matrix records every failure and goes on
                    message = str(error).strip().splitlines()[0][:300]
                    row[check] = {"status": "error", "error": f"{type(error).__name__}: {message}"}
                    traceback.print_exc(limit=2)
            print(name, with_lengths, {k: row[k]["status"] for k in ("eager", *CHECKS)},
                  flush=True)  # fmt: skip
            rows.append(row)
    return rows


def lm_training_speed(steps: int) -> dict[str, Any]:
    """Seconds per training step (forward, backward, clipping, Adam) of the default character
    LM (``rnnkit train lm``'s model: LSTM 2 x 512, embedding 128, batch 32, bptt 100, 65
    characters), eager against compiled, alternating step by step after warm-up."""
    from rnnkit.models import LanguageModel

    def build() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        torch.manual_seed(0)
        lm = LanguageModel(65, embedding_size=128, tie_weights=False, dropout=0.1,
                           init_range=1.0).train()  # fmt: skip
        return lm, torch.optim.Adam(lm.parameters(), lr=2e-3)

    def step(loss_fn: Callable, lm: torch.nn.Module, opt: torch.optim.Optimizer, batch) -> float:
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss_fn(batch).backward()
        torch.nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
        opt.step()
        return time.perf_counter() - start

    eager_lm, eager_opt = build()
    comp_lm, comp_opt = build()
    torch._dynamo.reset()
    compiled = torch.compile(lambda b: comp_lm.forward_loss(b)[0])
    batches = [(torch.randint(0, 65, (32, 100)), torch.randint(0, 65, (32, 100)))
               for _ in range(4)]  # fmt: skip
    start = time.perf_counter()
    for b in batches[:3]:  # compiles (a second time once the carried state exists)
        step(compiled, comp_lm, comp_opt, b)
    compile_seconds = time.perf_counter() - start
    for b in batches[:2]:
        step(lambda b: eager_lm.forward_loss(b)[0], eager_lm, eager_opt, b)
    pairs = []
    for i in range(steps):
        b = batches[i % len(batches)]
        e = step(lambda b: eager_lm.forward_loss(b)[0], eager_lm, eager_opt, b)
        c = step(compiled, comp_lm, comp_opt, b)
        pairs.append((e, c))
    ratios = [c / e for e, c in pairs]
    return {
        "model": "LanguageModel(65, lstm 2 x 512, embedding 128), batch 32, bptt 100, Adam",
        "steps_timed": steps,
        "eager_step_seconds_median": statistics.median(e for e, _ in pairs),
        "compiled_step_seconds_median": statistics.median(c for _, c in pairs),
        "compiled_over_eager_median_ratio": statistics.median(ratios),
        "ratio_quartiles": statistics.quantiles(ratios, n=4),
        "first_three_compiled_steps_seconds": compile_seconds,
        "compiled_path": comp_lm.layers[0].backend.name,
        "eager_path": eager_lm.layers[0].backend.name,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated configurations")
    parser.add_argument("--skip-lm", action="store_true", help="no LM training-speed pairing")
    parser.add_argument("--lm-steps", type=int, default=30, help="paired steps timed")
    parser.add_argument("--name", default="compat", help="results file name")
    parser.add_argument("--update", action="store_true",
                        help="replace only the rows run now in the results file")  # fmt: skip
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(CONFIGS)
    result: dict[str, Any] = {"matrix": run_matrix(names)}
    if not args.skip_lm:
        result["char_lm_training"] = lm_training_speed(args.lm_steps)
    if args.update:
        old = json.loads((RESULTS / f"{args.name}.json").read_text())
        rows = {(r["config"], r["lengths"]): r for r in old["matrix"]}
        rows.update({(r["config"], r["lengths"]): r for r in result["matrix"]})
        order = list(CONFIGS)
        result["matrix"] = sorted(rows.values(), key=lambda r: (order.index(r["config"]),
                                                                r["lengths"]))  # fmt: skip
        result.setdefault("char_lm_training", old.get("char_lm_training"))
        result["commands"] = [*old.get("commands", [old.get("command")]), "python " +
                              " ".join(sys.argv)]  # fmt: skip
    write_result(args.name, result)


if __name__ == "__main__":
    main()
