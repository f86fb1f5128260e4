"""The paths a recurrent layer runs while it is traced (``torch.compile``, ``torch.export``,
FakeTensors, ``torch.func`` transforms): the dispatch's answer when ``rnnkit.ops.tracing.tracing``
says a call is not plain eager.

- Compile, export and fake tensors, CPU float32/float64: rnnkit's sequence functions as
  registered operators (``rnnkit.backends.custom_ops``), opaque to the compiler, with their
  lengths and batch sizes symbolic: LSTMs (standard ones with peepholes of zeros, peephole,
  layer norm) through ``torch.ops.rnnkit.lstm_layer`` / ``ln_lstm_layer``, GRUs through
  ``gru_layer`` (``reset_after=True``) or ``gru_sequence`` (``reset_after=False``), MinGRU /
  MinLSTM through ``min_layer``, Elman RNNs (tanh, relu) through ``elman_sequence``.
- Projected LSTMs, and every standard cell off the CPU: PyTorch's fused op,
  which the compiler traces (with lengths: the generic loop, as packed sequences have
  data-dependent sizes).
- ``torch.func`` transforms, user-defined cells and forms no operator covers: the generic loop,
  plain PyTorch ops (a MinGRU / MinLSTM: its log-space scan).

Shape: as the eager paths: x (N, L, H_in) -> output (N, L, D*H), state (K, N, S) per part.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import Tensor

from rnnkit.backends.elman_sequence import run_elman_sequence
from rnnkit.backends.families import Family
from rnnkit.backends.fused import run_fused
from rnnkit.backends.generic import run_generic_stack
from rnnkit.backends.gru_sequence import run_gru_sequence
from rnnkit.backends.lstm_sequence import run_lstm_sequence
from rnnkit.backends.select import Backend
from rnnkit.kernels import gru_step, lstm_step, min_scan

WHO = {
    "compile": "traced by torch.compile",
    "export": "traced by torch.export",
    "fake": "run on fake tensors",
    "functorch": "inside a torch.func transform",
}


@torch.compiler.assume_constant_result
def _builds(kernel: str) -> bool:
    """Whether a native kernel builds here (asked outside the graph: Dynamo cannot trace the
    loader's lock, and the answer never changes)."""
    module = {"lstm": lstm_step, "gru": gru_step, "min": min_scan}[kernel]
    return module.library() is not None  # type: ignore[attr-defined]


def _ops() -> Any:
    from rnnkit.backends.custom_ops import Ops  # registers the operators on first use

    return Ops


def stack_route(layer: Any, fam: Family, x: Tensor, lengths: Tensor | None, how: str) -> tuple:
    """(Backend, run) for a recurrent stack's traced call; see the module docstring."""
    cells, who = layer.cells, WHO[how]
    opts = {
        "num_layers": layer.num_layers, "bidirectional": layer.bidirectional,
        "dropout": layer.dropout, "training": layer.training, "reverse": layer.go_backwards,
    }  # fmt: skip
    weights = {c.weight_hh.dtype for c in cells} | {x.dtype}
    cpu = x.device.type == "cpu" and weights <= {torch.float32, torch.float64} and len(weights) == 1
    operators = how != "functorch" and cpu
    lstm = fam.kind == "lstm_sequence" or (
        fam.kind == "fused" and fam.kernel == "lstm" and not cells[0].proj_size
    )
    if operators and lstm and _builds("lstm"):
        op = "ln_lstm_layer" if cells[0].layer_norm else "lstm_layer"
        why = f"{fam.reason}; {who} -> torch.ops.rnnkit.{op}, opaque to the tracer"
        backend = Backend(f"rnnkit LSTM sequence (operator {op})", why, "sequence", "lstm")
        return backend, functools.partial(run_lstm_sequence, cells, ops=_ops(), **opts)
    gru = fam.kind == "gru_sequence" or (fam.kind == "fused" and fam.kernel == "gru")
    if operators and gru:
        native = fam.kind == "fused" and cells[0].reset_after and _builds("gru")
        op = "gru_layer" if native else "gru_sequence"
        why = f"{fam.reason}; {who} -> torch.ops.rnnkit.{op}, opaque to the tracer"
        backend = Backend(f"rnnkit GRU sequence (operator {op})", why, "sequence", "gru")
        run = functools.partial(run_gru_sequence, cells, native=native, ops=_ops(), **opts)
        return backend, run
    if operators and fam.kind == "fused" and fam.kernel in ("rnn_tanh", "rnn_relu"):
        why = f"{fam.reason}; {who} -> torch.ops.rnnkit.elman_sequence, opaque to the tracer"
        backend = Backend("rnnkit Elman sequence (operator elman_sequence)", why, "sequence",
                          fam.kernel)  # fmt: skip
        return backend, functools.partial(run_elman_sequence, cells, ops=_ops(), **opts)
    if fam.kind == "fused" and lengths is None and how != "functorch":
        backend = Backend(f"torch.{fam.kernel} (traced)", f"{fam.reason}; {who} -> PyTorch's "
                          "fused op, which the tracer records", "fused", fam.kernel)  # fmt: skip
        return backend, functools.partial(run_fused, str(fam.kernel), cells, **opts)
    why = (
        "plain PyTorch ops, which torch.func transforms trace"
        if how == "functorch"
        else ("no operator covers it" if fam.kind == "generic" else "its operator needs CPU float")
    )
    backend = Backend("generic loop (traced)", f"{fam.reason}; {who} -> the cells' own ops "
                      f"step by step ({why})", "generic", fam.kernel)  # fmt: skip
    return backend, functools.partial(run_generic_stack, cells, **opts)


def min_mode(x: Tensor, how: str) -> tuple[str, str]:
    """(scan mode, why) for a traced MinGRU / MinLSTM call of more than one step: the registered
    ``min_layer`` operator (mode ``"op"``) on CPU float with the native kernel, else the
    log-space scan."""
    cpu = x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
    if how != "functorch" and cpu and _builds("min"):
        return "op", f"{WHO[how]} -> torch.ops.rnnkit.min_layer, opaque to the tracer"
    return "log", f"{WHO[how]} -> the log-space scan, plain PyTorch ops"
