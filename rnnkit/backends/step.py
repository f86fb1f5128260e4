"""One time step of a fused-kernel stack, through PyTorch's single-step cell ops.

Generation calls a layer once per token with x of shape (N, 1, H_in). The sequence kernels
(``torch.lstm`` ...) pay a set-up cost per call (on CPU, oneDNN re-lays-out the weights), which
dominates a single step. ``torch.lstm_cell`` / ``gru_cell`` / ``rnn_tanh_cell`` /
``rnn_relu_cell`` compute the same equations from the same parameters with two matrix products
per cell and no set-up. Without gradients (generation under ``torch.no_grad()``) the step runs
``rnnkit.backends.packed_step`` instead: one product per cell with weights packed once and cached,
so a step costs about what reading the weights costs. A plain one-directional LSTM or GRU stack
on CPU with at most ``token_step.MAX_ROWS`` rows goes further: one native call for the stack
(``rnnkit.kernels.token_step``) does every layer's products and pointwise part, writing the new
state and the output in place of PyTorch's concatenations and stacking.

Shapes: x (N, 1, H_in); state (K*D, N, H) or its (h, c) pair, layer-major and direction-minor
like the cells -> output (N, 1, D*H), the new state in the same layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.backends.packed_step import packed_step
from rnnkit.kernels import token_step
from rnnkit.layers import state as st

StepResult = tuple[Tensor, st.LayerState]

CELL_OPS = {
    "lstm": torch.lstm_cell,
    "gru": torch.gru_cell,
    "rnn_tanh": torch.rnn_tanh_cell,
    "rnn_relu": torch.rnn_relu_cell,
}


def supports_step(kernel: str | None, cells: Sequence[nn.Module]) -> bool:
    """Whether ``run_fused_step`` can run these cells (no LSTM projection)."""
    return kernel in CELL_OPS and not any(getattr(c, "proj_size", 0) for c in cells)


def run_fused_step(
    kernel: str,
    cells: Sequence[nn.Module],
    x: Tensor,
    state: st.LayerState,
    num_layers: int,
    bidirectional: bool,
    dropout: float = 0.0,
    training: bool = False,
) -> tuple[Tensor, st.LayerState]:
    """One step of the stack; see the module docstring."""
    op = CELL_OPS[kernel]
    parts = st.as_tuple(state)  # type: ignore[arg-type]
    directions = 2 if bidirectional else 1
    if _native(kernel, cells, x, parts, directions, dropout and training):
        return _native_step(kernel, cells, x, parts, num_layers)
    new: list[list[Tensor]] = [[] for _ in parts]
    inp = x[:, 0]
    pack = not torch.is_grad_enabled()
    for k in range(num_layers):
        outs = []
        for j in range(directions):
            i = k * directions + j
            cell = cells[i]
            w_ih, w_hh = cell.weight_ih, cell.weight_hh
            b_ih, b_hh = cell.bias_ih, cell.bias_hh
            if pack:
                step = packed_step(kernel, cell, inp, tuple(p[i] for p in parts))
                h = step[0]
                if kernel == "lstm":
                    new[1].append(step[1])
            elif kernel == "lstm":
                h, c = op(inp, (parts[0][i], parts[1][i]), w_ih, w_hh, b_ih, b_hh)
                new[1].append(c)
            else:
                h = op(inp, parts[0][i], w_ih, w_hh, b_ih, b_hh)
            new[0].append(h)
            outs.append(h)
        inp = torch.cat(outs, dim=-1) if directions == 2 else outs[0]
        if dropout and training and k < num_layers - 1:
            inp = F.dropout(inp, dropout, training=True)
    return inp.unsqueeze(1), st.from_tuple([torch.stack(p) for p in new])


def layer_step(layer: nn.Module, x: Tensor, state: st.LayerState | None) -> StepResult | None:
    """``layer(x, state)`` for a generation step of an ``LSTM`` or ``GRU`` stack, straight into
    ``_native_step``; None when the call is anything else (the layer's general path then runs it,
    with its checks and errors).

    Generation calls a layer once per token. Streaming the weights of 2 layers of hidden 512
    takes about 0.27 ms, and the Python around it costs two to three times what it costs warm,
    because the stream has just evicted it from the core's caches; the general path's checks and
    dispatch were about 10 us of that (ad hoc). This path asks only what the general path would
    decide for such a call: no grad, x (N, 1, H_in) batch-first with N <= MAX_ROWS, a fused
    one-directional LSTM or GRU without projection, not stateful, no dropout between layers while
    training, and a state that is absent or exactly the layer's own layout (a tensor, or the
    LSTM's (h, c) tuple, each (K, N, H)) in x's dtype and device.
    """
    if (
        torch.is_grad_enabled() or type(x) is not Tensor or x.dim() != 3 or x.shape[1] != 1
        or x.shape[2] != layer.input_size or x.shape[0] > token_step.MAX_ROWS
        or not layer.batch_first or layer.stateful or layer.bidirectional
    ):  # fmt: skip
        return None
    backend = layer.backend
    kernel, cells = backend.kernel, layer.cells
    if backend.name != "fused" or kernel not in token_step.GATES:
        return None
    if not supports_step(kernel, cells):
        return None
    shape = (layer.num_layers, x.shape[0], layer.hidden_size)
    if state is None:
        h = x.new_zeros(shape)
        parts: tuple[Tensor, ...] = (h, torch.zeros_like(h)) if kernel == "lstm" else (h,)
    elif kernel == "lstm" and type(state) is tuple and len(state) == 2:
        parts = state
    elif kernel == "gru" and type(state) is Tensor:
        parts = (state,)
    else:
        return None
    if any(type(t) is not Tensor or t.shape != shape for t in parts):
        return None
    if not _native(kernel, cells, x, parts, 1, layer.dropout and layer.training):
        return None
    return _native_step(kernel, cells, x, parts, layer.num_layers)


def _native(
    kernel: str, cells: Sequence[nn.Module], x: Tensor, state: tuple[Tensor, ...],
    directions: int, dropout: float,
) -> bool:  # fmt: skip
    """Whether ``_native_step`` runs this step: no grad, plain LSTM or GRU, one direction, no
    dropout between layers, at most MAX_ROWS rows of CPU floats, with weights and state of x's
    dtype on the CPU (anything else keeps PyTorch's path, and its errors)."""
    weight = cells[0].weight_ih
    return (
        kernel in token_step.GATES
        and directions == 1
        and not dropout
        and not torch.is_grad_enabled()
        and x.shape[0] <= token_step.MAX_ROWS
        and (weight.dtype, weight.device) == (x.dtype, x.device)
        and all((t.dtype, t.device) == (x.dtype, x.device) for t in state)
        and token_step.supported(x)
    )


def _native_step(
    kernel: str, cells: Sequence[nn.Module], x: Tensor, state: tuple[Tensor, ...],
    num_layers: int,
) -> tuple[Tensor, st.LayerState]:  # fmt: skip
    """The stack's step in one native call, writing every layer's h (and c) into the new state
    and the last layer's h into the output."""
    old = [t.contiguous() for t in state]
    new = [torch.empty_like(t) for t in old]
    out = x.new_empty(x.shape[0], 1, old[0].shape[2])
    cs = (old[1], new[1]) if kernel == "lstm" else (None, None)
    inp = x if x.stride(2) == 1 else x.contiguous()
    token_step.stack_step(kernel, cells[:num_layers], inp, old[0], new[0], out, *cs)
    return out, st.from_tuple(new)
