"""Run in a fresh process by ``test_ieee.py``: every native kernel entry point, fed a NaN.

Prints one JSON object: subnormal products in numpy and torch before ``import rnnkit`` and after
every kernel has been loaded and run, the exported functions each workload called, and for
every workload and dtype whether the row holding the NaN came out all NaN while the other rows
stayed finite (outputs, and for training workloads the input gradient).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import torch


def subnormals() -> list[float]:
    """Two float32 products that are subnormal under IEEE and 0 under flush-to-zero."""
    return [
        float(np.float32(1e-38) * np.float32(1e-3)),
        float((torch.tensor([1e-38]) * 1e-3).item()),
    ]


BEFORE = subnormals()

import rnnkit  # noqa: E402
from rnnkit.kernels import build  # noqa: E402

KERNELS = Path(build.__file__).parent
EXPORT = re.compile(r"^(?:void|int|long)\s+(rnnkit_\w+)\s*\(", re.M)
N, L, IN, H = 3, 4, 5, 16


def exported() -> dict[str, list[str]]:
    """Each kernel's exported functions, read from its C source."""
    found = {}
    for source in sorted(KERNELS.glob("*.c")):
        names = EXPORT.findall(source.read_text(encoding="utf-8"))
        found[source.stem] = [n for n in names if n != "rnnkit_max_threads"]
    return found


def sequence(layer: torch.nn.Module, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(N, L, IN, dtype=dtype)
    x[0, 0, 0] = float("nan")
    x.requires_grad_(True)
    out, _ = layer.to(dtype)(x)
    out.sum().backward()
    return out, x.grad


def step(layer: torch.nn.Module, dtype: torch.dtype, rows: int) -> tuple[torch.Tensor, None]:
    x = torch.randn(rows, 1, IN, dtype=dtype)
    x[0, 0, 0] = float("nan")
    with torch.no_grad():
        out, _ = layer.to(dtype).eval()(x)
    return out, None


def int8(dtype: torch.dtype) -> tuple[torch.Tensor, None]:
    """The int8 kernel's entry points (float32 only, whatever ``dtype``): each path's batch-1
    LSTM step and the int8 product, on an input with a NaN (row 0) and one without (row 1)."""
    from rnnkit.kernels import int8_step
    from rnnkit.models.quantized import quantize_rows

    q_ih, s_ih = quantize_rows(torch.randn(4 * H, IN))
    q_hh, s_hh = quantize_rows(torch.randn(4 * H, H))
    levels = [(q_ih, s_ih, q_hh, s_hh, torch.zeros(4 * H))] * 2
    rows = []
    for nan in (True, False):
        x = torch.randn(IN)
        if nan:
            x[0] = float("nan")
        parts = [int8_step.int8_gemv(q_ih[:, :IN].contiguous(), s_ih, None, x)]
        for vnni in (False, True):
            stack = int8_step.Int8LSTMStack(levels, vnni=vnni)
            if vnni and not stack.vnni:  # no VNNI here: its entry point is a no-op; run it
                build._loaded["int8_step"].rnnkit_int8_lm_step(1, 0, *[None] * 5, 0, *[None] * 4, 1)
                continue
            parts.append(torch.cat(stack.step(x, [torch.zeros(H)] * 2, [torch.zeros(H)] * 2)[0]))
        rows.append(torch.cat(parts))
    return torch.stack(rows), None


WORKLOADS = {
    "mingru": lambda d: sequence(rnnkit.MinGRU(IN, H), d),
    "minlstm": lambda d: sequence(rnnkit.MinLSTM(IN, H), d),
    "lstm_peephole": lambda d: sequence(rnnkit.LSTM(IN, H, peephole=True), d),
    "lstm_layer_norm": lambda d: sequence(rnnkit.LSTM(IN, H, layer_norm=True), d),
    "gru": lambda d: sequence(rnnkit.GRU(IN, H), d),
    "lstm_token_step": lambda d: step(rnnkit.LSTM(IN, H, num_layers=2), d, 1),
    "gru_token_step": lambda d: step(rnnkit.GRU(IN, H, num_layers=2), d, 1),
    "lstm_wide_step": lambda d: step(rnnkit.LSTM(IN, H), d, 12),
    "int8_step": int8,
}


def nan_row_only(t: torch.Tensor | None) -> bool | None:
    if t is None:
        return None
    return bool(t[0].isnan().all()) and bool(t[1:].isfinite().all())


def count_calls(calls: dict[str, int]) -> None:
    """Wrap every exported function of every loaded kernel so that calls are counted."""
    for name, functions in exported().items():
        library = build._loaded.get(name)
        for function in functions if library is not None else []:
            real = getattr(library, function)

            def counted(*args, _real=real, _name=function):
                calls[_name] = calls.get(_name, 0) + 1
                return _real(*args)

            setattr(library, function, counted)


def main() -> None:
    torch.manual_seed(0)
    for run in WORKLOADS.values():  # loads every kernel the workloads use
        run(torch.float32)
    calls: dict[str, int] = {}
    count_calls(calls)
    nan = {}
    for name, run in WORKLOADS.items():
        for dtype in (torch.float32, torch.float64):
            out, grad = run(dtype)
            nan[f"{name}/{str(dtype)[6:]}"] = [nan_row_only(out), nan_row_only(grad)]
    json.dump(
        {
            "before": BEFORE,
            "after": subnormals(),
            "exported": exported(),
            "loaded": sorted(k for k, v in build._loaded.items() if v is not None),
            "called": calls,
            "nan": nan,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
