"""rnnkit's recurrent layers as ONNX's own LSTM, GRU and RNN operators.

One ONNX operator runs one level of a stack (both directions at once when bidirectional), time
major: ``X`` (L, N, I) -> ``Y`` (L, D, N, H), ``Y_h`` (D, N, H) and for LSTM ``Y_c``. The
weights are rnnkit's (PyTorch's layout, gate order i, f, g, o for LSTM and r, z, n for GRU),
reordered to ONNX's:

    LSTM  W, R, B in gate order i, o, f, c;  peepholes P = [w_ci; w_co; w_cf]
    GRU   W, R, B in gate order z, r, h;     reset_after=True -> linear_before_reset=1
    RNN   one gate;                          activation tanh or relu

``sequence_lens`` carries each sequence's length: padded steps leave the state alone, the
final state is the state at each sequence's end, and the reverse direction reads each sequence
back to front within its own length (as rnnkit's layers do).

Configurations with no ONNX operator are refused with ``ExportError`` naming the layer, the
option and why: layer normalisation and projections in an LSTM cell, MinGRU/MinLSTM (a
parallel scan), ``go_backwards``, and activations ONNX's recurrent operators do not list.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rnnkit.errors import RnnkitError
from rnnkit.export.graph import Graph

#: rnnkit activation name -> (ONNX activation, alpha, beta)
ACTIVATIONS: dict[str, tuple[str, float | None, float | None]] = {
    "tanh": ("Tanh", None, None),
    "sigmoid": ("Sigmoid", None, None),
    "relu": ("Relu", None, None),
    "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
    "hard_sigmoid_keras2": ("HardSigmoid", 0.2, 0.5),
    "softsign": ("Softsign", None, None),
}


class ExportError(RnnkitError, ValueError):
    """A model or configuration export cannot write (the message names it and says why)."""


@dataclass
class LayerSpec:
    """What an exported recurrent layer is: ONNX operator, depth, directions, sizes."""

    op: str  # "LSTM", "GRU" or "RNN"
    num_layers: int
    directions: int
    hidden_size: int

    @property
    def state_parts(self) -> tuple[str, ...]:
        """The layer's state tensors, each (num_layers * D, N, H)."""
        return ("h", "c") if self.op == "LSTM" else ("h",)


def unwrap(layer: nn.Module) -> nn.Module:
    """The recurrent stack inside a ``WeightDrop`` (which changes nothing at inference)."""
    inner = getattr(layer, "layer", None)
    return inner if type(layer).__name__ == "WeightDrop" and inner is not None else layer


def layer_spec(layer: nn.Module, where: str) -> LayerSpec:
    """Check that ``layer`` maps onto an ONNX operator; ExportError says why not."""
    from rnnkit.layers import GRU, LSTM, RNN

    layer = unwrap(layer)
    kind = type(layer).__name__
    if not isinstance(layer, LSTM | GRU | RNN):
        raise ExportError(
            f"{where}: a {kind} layer has no ONNX recurrent operator (MinGRU and MinLSTM run a "
            "parallel scan, custom cells have no fixed equations); ONNX export takes LSTM, GRU "
            "and RNN layers"
        )
    if layer.go_backwards:
        raise ExportError(f"{where}: {kind}(go_backwards=True) is not exported")
    for cell in layer.cells:
        _check_cell(cell, where, kind)
    op = "LSTM" if isinstance(layer, LSTM) else "GRU" if isinstance(layer, GRU) else "RNN"
    return LayerSpec(op, layer.num_layers, 2 if layer.bidirectional else 1, layer.hidden_size)


def _check_cell(cell: nn.Module, where: str, kind: str) -> None:
    if getattr(cell, "layer_norm", False):
        raise ExportError(
            f"{where}: {kind}(layer_norm=True) is not exported: ONNX's LSTM operator has no "
            "normalisation inside the recurrence"
        )
    if getattr(cell, "proj_size", 0):
        raise ExportError(
            f"{where}: {kind}(proj_size={cell.proj_size}) is not exported: ONNX's LSTM "
            "operator has no output projection"
        )
    for option in ("activation", "recurrent_activation"):
        name = getattr(cell, option, None)
        if name is not None and name not in ACTIVATIONS:
            raise ExportError(
                f"{where}: {kind}({option}={name!r}) is not exported: ONNX's recurrent "
                f"operators take {sorted(ACTIVATIONS)}"
            )


def _np(t: torch.Tensor | None, rows: int) -> np.ndarray:
    return np.zeros(rows, np.float32) if t is None else t.detach().float().cpu().numpy()


def _gates(a: np.ndarray, order: list[int], n: int) -> np.ndarray:
    parts = np.split(a, n, axis=0)
    return np.concatenate([parts[i] for i in order], axis=0)


def cell_weights(cell: nn.Module, op: str) -> dict[str, np.ndarray]:
    """One direction's W, R, B (and P) in ONNX's gate order."""
    order = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN": [0]}[op]
    n = len(order)
    w_ih, w_hh = _np(cell.weight_ih, 0), _np(cell.weight_hh, 0)
    rows = w_ih.shape[0]
    out = {
        "W": _gates(w_ih, order, n),
        "R": _gates(w_hh, order, n),
        "B": np.concatenate(
            [_gates(_np(cell.bias_ih, rows), order, n), _gates(_np(cell.bias_hh, rows), order, n)]
        ),
    }
    if op == "LSTM" and getattr(cell, "peephole", False):
        out["P"] = np.concatenate([_np(cell.weight_ci, 0), _np(cell.weight_co, 0),
                                   _np(cell.weight_cf, 0)])  # fmt: skip
    return out


def _attributes(cell: nn.Module, op: str, spec: LayerSpec) -> dict:
    if op == "LSTM":
        names = [cell.recurrent_activation, cell.activation, cell.activation]
    elif op == "GRU":
        names = [cell.recurrent_activation, cell.activation]
    else:
        names = [cell.activation]
    names = names * spec.directions
    acts = [ACTIVATIONS[a] for a in names]
    attrs: dict = {
        "hidden_size": spec.hidden_size,
        "direction": "bidirectional" if spec.directions == 2 else "forward",
        "activations": [a[0] for a in acts],
    }
    if any(a[1] is not None for a in acts):
        attrs["activation_alpha"] = [a[1] if a[1] is not None else 0.0 for a in acts]
        attrs["activation_beta"] = [a[2] if a[2] is not None else 0.0 for a in acts]
    if op == "GRU":
        attrs["linear_before_reset"] = int(cell.reset_after)
    return attrs


def recurrent_nodes(
    g: Graph,
    layer: nn.Module,
    spec: LayerSpec,
    x: str,
    lengths: str,
    state: list[str] | None,
) -> tuple[str, list[str]]:
    """Nodes running ``layer`` over ``x`` (L, N, I) time major.

    Args:
        lengths: int32 (N,) sequence lengths, or "" for full-length sequences.
        state: the layer's state tensors (``spec.state_parts``, each (num_layers*D, N, H)),
            or None for a zero state.

    Returns:
        ``(y, new_state)``: y (L, N, D*H) and the final state tensors.
    """
    cells = unwrap(layer).cells
    d, h = spec.directions, spec.hidden_size
    finals: list[list[str]] = [[] for _ in spec.state_parts]
    for level in range(spec.num_layers):
        pair = cells[level * d : (level + 1) * d]
        per_dir = [cell_weights(c, spec.op) for c in pair]
        inputs = [x] + [g.weight(k, np.stack([w[k] for w in per_dir])) for k in ("W", "R", "B")]
        inputs.append(lengths)
        for part in range(len(spec.state_parts)):
            inputs.append("" if state is None else g.op(
                "Slice", [state[part], g.const([level * d]), g.const([(level + 1) * d]),
                          g.const([0])]))  # fmt: skip
        if "P" in per_dir[0]:
            inputs.append(g.weight("P", np.stack([w["P"] for w in per_dir])))
        while inputs and inputs[-1] == "":
            inputs.pop()
        outs = g.op(spec.op, inputs, outputs=1 + len(spec.state_parts),
                    **_attributes(pair[0], spec.op, spec))  # fmt: skip
        y = g.op("Transpose", [outs[0]], perm=[0, 2, 1, 3])  # (L, D, N, H) -> (L, N, D, H)
        x = g.op("Reshape", [y, g.const([0, 0, d * h])])  # -> (L, N, D*H)
        for part in range(len(spec.state_parts)):
            finals[part].append(outs[1 + part])
    new_state = [f[0] if len(f) == 1 else g.op("Concat", f, axis=0) for f in finals]
    return x, new_state
