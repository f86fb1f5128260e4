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

from rnnkit.backends.packed_step import packed_step
from rnnkit.backends.stack import run_stack
from rnnkit.kernels import token_step
from rnnkit.ops import state as st

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
    packed: bool = False,
) -> tuple[Tensor, st.LayerState]:
    """One step of the stack through ``torch.*_cell`` ops, or with ``packed`` (no grad) through
    ``packed_step``'s pre-packed products; see the module docstring."""
    op = CELL_OPS[kernel]

    def direction(cell: nn.Module, seq: Tensor, start: tuple[Tensor, ...] | None) -> tuple:
        assert start is not None
        inp = seq[:, 0]
        if packed:
            parts = packed_step(kernel, cell, inp, start)
        elif kernel == "lstm":
            parts = op(inp, start, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
        else:
            parts = (op(inp, start[0], cell.weight_ih, cell.weight_hh, cell.bias_ih,
                        cell.bias_hh),)  # fmt: skip
        return parts[0].unsqueeze(1), tuple(parts)

    out, finals = run_stack(direction, cells, x, st.as_tuple(state), None,  # type: ignore[arg-type]
                            num_layers=num_layers, bidirectional=bidirectional,
                            dropout=dropout, training=training, reverse=False)  # fmt: skip
    return out, st.from_tuple(finals)


def native_step_fits(
    kernel: str, cells: Sequence[nn.Module], x: Tensor, state: tuple[Tensor, ...],
    directions: int, dropout: float,
) -> bool:  # fmt: skip
    """Whether ``run_native_step`` can run this step: no grad, plain LSTM or GRU, one
    direction, no dropout between layers, at most MAX_ROWS rows of CPU floats, with weights and
    state of x's dtype on the CPU (anything else keeps PyTorch's path, and its errors)."""
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


def run_native_step(
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
