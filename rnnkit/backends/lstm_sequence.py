"""LSTM-variant sequence functions with hand-written backwards, for CPU.

No fused kernel has peephole connections (Gers & Schmidhuber 2000) or layer normalisation
(Ba et al. 2016), so such LSTMs would otherwise run the generic path: autograd records every
gate op of every step. These functions run the cell's equations (``rnnkit.cells.lstm``;
tanh/sigmoid, no projection) with one product per step and one native element-wise call
(``rnnkit.kernels.lstm_step`` for peepholes, ``rnnkit.kernels.lnlstm_step`` for layer norm with
or without peepholes), and a backward that walks the steps once; the weight gradients of the
recurrent product are then one product over all steps (in chunks, for layer norm), those of the
input projection are left to autograd. With layer norm the input projection is inside the
function too (through oneDNN where it runs, a little faster than MKL's product): the kernel
normalises it row by
row, and W_ih's gradient is accumulated in chunks like W_hh's, so the projection's gradient is
never materialised whole. Padded steps (``mask``
false) keep h and c.

Shapes: xp (N, L, 4H) = the cell's input projection (p = W_ih x with layer norm); h0, c0
(N, H); w_hh (4H, H); b_hh (4H,); peep (3, H) -> h (N, L, H) and the final c (N, H).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.backends.sequence import outputs_and_last, step_mask
from rnnkit.backends.stack import run_stack
from rnnkit.kernels import blocks, lnlstm_step, lstm_step
from rnnkit.ops.first_order import GENERIC, first_order


class LSTMSequence(torch.autograd.Function):
    """``LSTMSequence.apply(x, w_ih, b_ih, h0, c0, w_hh, b_hh, peep, mask)`` -> (h (N, L, H),
    c_L (N, H)), with x (N, L, I) and b_ih (4H,) or None: the input projection included, in
    blocks of steps (``rnnkit.kernels.lstm_step``)."""

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, w_ih: Tensor, b_ih: Tensor | None, h0: Tensor, c0: Tensor,
        w_hh: Tensor, b_hh: Tensor, peep: Tensor, mask: Tensor | None,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        h0, c0 = h0.contiguous(), c0.contiguous()
        out, saved = lstm_step.forward(x, w_ih, b_ih, h0, c0, w_hh, b_hh, peep, mask)
        ctx.save_for_backward(x, w_ih, h0, c0, w_hh, peep, out, mask, *saved)
        ctx.has_bias = b_ih is not None
        return out, saved[-1][-1]

    @staticmethod
    @first_order(GENERIC.format(name="LSTMSequence (the peephole LSTM's sequence path)"))
    def backward(ctx: Any, dout: Tensor, dc_last: Tensor | None) -> tuple[Tensor | None, ...]:
        x, w_ih, h0, c0, w_hh, peep, out, mask, *saved = ctx.saved_tensors
        if dout is None:
            dout = torch.zeros_like(out)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        grads = blocks.InputGradients(x, w_ih, (need_x, need_w, False))
        dh0, dc0, dpeep, db, dw_hh = lstm_step.backward(
            dout, dc_last, h0, c0, w_hh, peep, out, saved, mask, grads
        )
        dx, dw_ih, _ = grads.results()
        db_ih = db.clone() if need_b and ctx.has_bias else None
        return dx, dw_ih, db_ih, dh0, dc0, dw_hh, db, dpeep, None


class LayerNormLSTMSequence(torch.autograd.Function):
    """``LayerNormLSTMSequence.apply(x, w_ih, h0, c0, w_hh, gamma_ih, gamma_hh, bias, gamma_c,
    beta_c, peep, mask)`` -> (h (N, L, H), c_L (N, H)), with x (N, L, I); bias = beta_ih + b_ih
    + beta_hh + b_hh. The input projection p = x W_ih^T is one product here; the kernel
    normalises it row by row, and the backward accumulates W_ih's gradient chunk by chunk."""

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, w_ih: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor,
        gamma_ih: Tensor, gamma_hh: Tensor, bias: Tensor, gamma_c: Tensor, beta_c: Tensor,
        peep: Tensor, mask: Tensor | None,
    ) -> tuple[Tensor, Tensor]:  # fmt: skip
        h0, c0 = h0.contiguous(), c0.contiguous()
        out, saved = lnlstm_step.forward(x, w_ih, h0, c0, w_hh, (gamma_ih, gamma_hh), bias,
                                         (gamma_c, beta_c), peep, mask)  # fmt: skip
        ctx.save_for_backward(x, w_ih, h0, c0, w_hh, gamma_ih, gamma_hh, bias, gamma_c, beta_c,
                              peep, mask, out, *saved)  # fmt: skip
        return out, saved[-4][-1]  # the last block's c

    @staticmethod
    @first_order(GENERIC.format(name="LayerNormLSTMSequence (the layer-norm LSTM's sequence path)"))
    def backward(ctx: Any, dout: Tensor, dc_last: Tensor | None) -> tuple[Tensor | None, ...]:
        x, w_ih, h0, c0, w_hh, gamma_ih, gamma_hh, bias, gamma_c, beta_c, peep, mask, out = (
            ctx.saved_tensors[:13]
        )
        saved = list(ctx.saved_tensors[13:])
        if dout is None:
            dout = torch.zeros_like(out)
        grads = blocks.InputGradients(x, w_ih, (ctx.needs_input_grad[0], True, False))
        g = lnlstm_step.backward(dout, dc_last, h0, c0, w_hh, (gamma_ih, gamma_hh), bias,
                                 (gamma_c, beta_c), peep, out, saved, mask, grads)  # fmt: skip
        dx, dw_ih, _ = grads.results()
        return (dx, dw_ih, g["h0"], g["c0"], g["w_hh"], g["gamma_ih"], g["gamma_hh"],
                g["bias"], g["gamma_c"], g["beta_c"], g["peep"], None)  # fmt: skip


def _ln_bias(cell: nn.Module) -> Tensor:
    """The one shift of a layer-norm cell's gates: beta_ih + b_ih + beta_hh + b_hh (4H,)."""
    total = cell.layer_norm_ih_bias + cell.layer_norm_hh_bias
    for b in (cell.bias_ih, cell.bias_hh):
        if b is not None:
            total = total + b
    return total


def run_lstm_sequence(
    cells: Sequence[nn.Module],
    x: Tensor,
    state: tuple[Tensor, Tensor] | None,
    lengths: Tensor | None,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    training: bool = False,
    reverse: bool = False,
    ops: Any = None,
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """A stack of peephole and/or layer-norm LSTM cells (layer-major, direction-minor) with
    ``LSTMSequence`` / ``LayerNormLSTMSequence``; ``run_fused``'s arguments and results. Standard
    cells run too (peepholes of zeros). ``ops`` (``rnnkit.backends.custom_ops.Ops``, for traced
    calls) runs the same functions as registered operators."""
    lstm = LSTMSequence.apply if ops is None else ops.lstm_layer
    ln_lstm = LayerNormLSTMSequence.apply if ops is None else ops.ln_lstm_layer
    if lengths is not None:
        lengths = lengths.to(x.device)
    mask = step_mask(lengths, x.shape[1], x.device)

    def direction(cell: nn.Module, seq: Tensor, start: tuple[Tensor, ...] | None) -> tuple:
        hs = cell.hidden_size
        if start is None:
            h0 = c0 = seq.new_zeros(seq.shape[0], hs)
        else:
            h0, c0 = start
        if cell.peephole:
            peep = torch.stack([cell.weight_ci, cell.weight_cf, cell.weight_co])
        else:
            peep = seq.new_zeros(3, hs)
        if cell.layer_norm:  # the kernel normalises W_ih x itself, row by row
            h, c_last = ln_lstm(
                seq, cell.weight_ih, h0, c0, cell.weight_hh,
                cell.layer_norm_ih_weight, cell.layer_norm_hh_weight, _ln_bias(cell),
                cell.layer_norm_c_weight, cell.layer_norm_c_bias, peep, mask,
            )  # fmt: skip
        else:
            b_hh = cell.bias_hh if cell.bias_hh is not None else seq.new_zeros(4 * hs)
            h, c_last = lstm(seq, cell.weight_ih, cell.bias_ih, h0, c0, cell.weight_hh, b_hh,
                             peep, mask)  # fmt: skip
        h, final = outputs_and_last(h, mask)
        return h, (final, c_last)

    out, (h_n, c_n) = run_stack(direction, cells, x, state, lengths, num_layers=num_layers,
                                bidirectional=bidirectional, dropout=dropout,
                                training=training, reverse=reverse)  # fmt: skip
    return out, (h_n, c_n)
