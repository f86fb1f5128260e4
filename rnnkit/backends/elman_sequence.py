"""An Elman RNN sequence function with a hand-written backward (tanh or relu).

PyTorch's ``torch.rnn_tanh`` / ``rnn_relu`` run Elman RNNs everywhere else; this function exists
so a traced call can hold one layer as one registered operator (``torch.ops.rnnkit.
elman_sequence``, ``rnnkit.backends.custom_ops``) whose length stays symbolic, where
``torch.export`` would otherwise unroll PyTorch's op step by step and fix L. Equations
(Elman 1990; PyTorch's ``nn.RNN``):

    h_t = act(xp_t + W_hh h_{t-1} + b_hh),     xp_t = W_ih x_t + b_ih (computed by the caller)

Backward, walking the steps once: with g_t the gradient reaching h_t,
da_t = g_t * act'(a_t) (1 - h_t^2 for tanh, [h_t > 0] for relu), g_{t-1} += da_t W_hh; then
dW_hh = sum_t da_t^T h_{t-1} and db_hh = sum_t da_t in one product over all steps. Padded
steps (``mask`` false) keep the state unchanged and pass their gradient straight through.

Shapes: xp (N, L, H); h0 (N, H); w_hh (H, H); b_hh (H,); mask (N, L) bool or None
-> h (N, L, H), the state after each step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.backends.sequence import outputs_and_last, step_mask
from rnnkit.backends.stack import run_stack
from rnnkit.ops.first_order import GENERIC, first_order


class ElmanSequence(torch.autograd.Function):
    """``ElmanSequence.apply(xp, h0, w_hh, b_hh, mask, relu)``; see the module docstring."""

    @staticmethod
    def forward(
        ctx: Any, xp: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, mask: Tensor | None,
        relu: bool = False,
    ) -> Tensor:  # fmt: skip
        act = torch.relu if relu else torch.tanh
        out, new_all = torch.empty_like(xp), torch.empty_like(xp)
        w_t, h = w_hh.t(), h0
        for t in range(xp.shape[1]):
            new = act(torch.addmm(b_hh, h, w_t) + xp[:, t])
            h = new if mask is None else torch.where(mask[:, t, None], new, h)
            out[:, t], new_all[:, t] = h, new
        ctx.relu = relu
        ctx.save_for_backward(h0, w_hh, out, new_all, mask)
        return out

    @staticmethod
    @first_order(GENERIC.format(name="ElmanSequence (the traced Elman RNN's operator)"))
    def backward(ctx: Any, dout: Tensor) -> tuple[Tensor | None, ...]:
        h0, w_hh, out, new_all, mask = ctx.saved_tensors
        n, steps, hs = out.shape
        da = torch.empty_like(out)
        dh = torch.zeros_like(h0)
        for t in range(steps - 1, -1, -1):
            total = dh + dout[:, t]
            keep = None if mask is None else mask[:, t, None].to(total.dtype)
            d_new = total if keep is None else total * keep
            new = new_all[:, t]
            da[:, t] = d_new * ((new > 0).to(new.dtype) if ctx.relu else 1 - new * new)
            dh = da[:, t] @ w_hh
            if keep is not None:
                dh = dh + total * (1 - keep)
        prev = torch.cat([h0.unsqueeze(1), out[:, :-1]], dim=1).reshape(n * steps, hs)
        flat = da.reshape(n * steps, hs)
        return da, dh, flat.t() @ prev, flat.sum(0), None, None


def run_elman_sequence(
    cells: Sequence[nn.Module],
    x: Tensor,
    state: Tensor | None,
    lengths: Tensor | None,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    training: bool = False,
    reverse: bool = False,
    ops: Any = None,
) -> tuple[Tensor, Tensor]:
    """A stack of tanh or relu Elman cells (layer-major, direction-minor) through
    ``ElmanSequence``, or the registered operator when ``ops`` (``rnnkit.backends.custom_ops.
    Ops``) is given; ``run_fused``'s other arguments and results."""
    sequence = ElmanSequence.apply if ops is None else ops.elman_sequence
    mask = step_mask(lengths, x.shape[1], x.device)

    def direction(cell: Any, seq: Tensor, start: tuple[Tensor, ...] | None) -> tuple:
        hs = cell.hidden_size
        h0 = start[0] if start is not None else seq.new_zeros(seq.shape[0], hs)
        b_hh = cell.bias_hh if cell.bias_hh is not None else seq.new_zeros(hs)
        xp = F.linear(seq, cell.weight_ih, cell.bias_ih)  # (N, L, H): all steps at once
        h = sequence(xp, h0, cell.weight_hh, b_hh, mask, cell.activation == "relu")
        h, final = outputs_and_last(h, mask)
        return h, (final,)

    parts = None if state is None else (state,)
    out, finals = run_stack(direction, cells, x, parts, lengths, num_layers=num_layers,
                            bidirectional=bidirectional, dropout=dropout, training=training,
                            reverse=reverse)  # fmt: skip
    return out, finals[0]
