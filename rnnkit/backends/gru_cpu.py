"""A GRU sequence function with a hand-written backward, for training on CPU.

PyTorch has no oneDNN GRU on CPU: ``torch.gru`` there records every gate op of every step for
autograd and computes the weight gradients step by step. This function runs the same equations
(PyTorch's GRU, ``reset_after=True``):

    r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z),  n = tanh(gi_n + r * gh_n)
    h_t = (1 - z) * n + z * h_{t-1}          gi = W_ih x_t + b_ih,  gh = W_hh h_{t-1} + b_hh

and its backward walks the steps once, keeping per step only the matrix product
dh_{t-1} = dgh_t W_hh and a few element-wise ops; the gradients of W_hh and b_hh are then one
large matrix product over all steps, and those of the input projection are left to autograd
(one product per layer). Padded steps (``mask`` false) keep the state unchanged.

Shapes: xp (N, L, 3H) = W_ih x + b_ih; h0 (N, H); w_hh (3H, H); b_hh (3H,); mask (N, L) bool
or None -> h (N, L, H), the state after each step (equal to the previous one on padded steps).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.backends.sequence import reverse_padded


class GRUSequence(torch.autograd.Function):
    """``GRUSequence.apply(xp, h0, w_hh, b_hh, mask)``; see the module docstring."""

    @staticmethod
    def forward(
        ctx: Any, xp: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, mask: Tensor | None
    ) -> Tensor:
        n, steps, g = xp.shape
        h_size = g // 3
        rz_all = xp.new_empty(n, steps, 2 * h_size)
        cand_all = xp.new_empty(n, steps, h_size)
        hh_n_all = xp.new_empty(n, steps, h_size)
        out = xp.new_empty(n, steps, h_size)
        w_t = w_hh.t()
        h = h0
        for t in range(steps):
            gh = torch.addmm(b_hh, h, w_t)
            gi = xp[:, t]
            rz = torch.sigmoid(gi[:, : 2 * h_size] + gh[:, : 2 * h_size])
            hh_n = gh[:, 2 * h_size :]
            cand = torch.tanh(torch.addcmul(gi[:, 2 * h_size :], rz[:, :h_size], hh_n))
            new = torch.lerp(cand, h, rz[:, h_size:])
            h = new if mask is None else torch.where(mask[:, t, None], new, h)
            out[:, t], rz_all[:, t], cand_all[:, t], hh_n_all[:, t] = h, rz, cand, hh_n
        ctx.save_for_backward(h0, w_hh, out, rz_all, cand_all, hh_n_all, mask)
        return out

    @staticmethod
    def backward(ctx: Any, dout: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, None]:
        h0, w_hh, out, rz_all, cand_all, hh_n_all, mask = ctx.saved_tensors
        n, steps, h_size = out.shape
        prev_all = torch.cat([h0.unsqueeze(1), out[:, :-1]], dim=1)
        dgi = dout.new_empty(n, steps, 3 * h_size)
        dgh = dout.new_zeros(n, steps, 3 * h_size)
        dh = torch.zeros_like(h0)
        for t in range(steps - 1, -1, -1):
            total = dh + dout[:, t]
            keep = None if mask is None else mask[:, t, None].to(total.dtype)
            d_new = total if keep is None else total * keep
            r, z = rz_all[:, t, :h_size], rz_all[:, t, h_size:]
            cand = cand_all[:, t]
            d_cand = d_new * (1 - z) * (1 - cand * cand)
            d_z = d_new * (prev_all[:, t] - cand) * z * (1 - z)
            d_r = d_cand * hh_n_all[:, t] * r * (1 - r)
            dgi[:, t, :h_size], dgi[:, t, h_size : 2 * h_size] = d_r, d_z
            dgi[:, t, 2 * h_size :] = d_cand
            dgh[:, t, :h_size], dgh[:, t, h_size : 2 * h_size] = d_r, d_z
            dgh[:, t, 2 * h_size :] = d_cand * r
            dh = torch.addmm(d_new * z, dgh[:, t], w_hh)
            if keep is not None:
                dh = dh + total * (1 - keep)
        flat = dgh.reshape(n * steps, 3 * h_size)
        dw_hh = flat.t() @ prev_all.reshape(n * steps, h_size)
        return dgi, dh, dw_hh, flat.sum(0), None


def use_gru_cpu(kernel: str | None, x: Tensor) -> bool:
    """Whether a fused-path GRU call should run ``GRUSequence``: training (grad) on CPU."""
    return kernel == "gru" and x.device.type == "cpu" and torch.is_grad_enabled()


def run_gru_cpu(
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
) -> tuple[Tensor, Tensor]:
    """A stack of standard GRU cells (layer-major, direction-minor) with ``GRUSequence``;
    ``run_fused``'s arguments and results."""
    n, steps, _ = x.shape
    directions = 2 if bidirectional else 1
    h_size = cells[0].hidden_size
    if state is None:
        state = x.new_zeros(num_layers * directions, n, h_size)
    mask = None
    if lengths is not None:
        lengths = lengths.to(x.device)
        mask = torch.arange(steps, device=x.device)[None, :] < lengths[:, None]
    finals, inp = [], x
    for k in range(num_layers):
        outs = []
        for j in range(directions):
            cell = cells[k * directions + j]
            backwards = reverse != (j == 1)
            seq = reverse_padded(inp, lengths) if backwards else inp
            xp = F.linear(seq, cell.weight_ih, cell.bias_ih)
            b_hh = cell.bias_hh if cell.bias_hh is not None else xp.new_zeros(3 * h_size)
            h = GRUSequence.apply(xp, state[k * directions + j], cell.weight_hh, b_hh, mask)
            finals.append(h[:, -1])
            if mask is not None:
                h = h * mask[..., None].to(h.dtype)
            outs.append(reverse_padded(h, lengths) if backwards else h)
        inp = torch.cat(outs, dim=-1) if directions == 2 else outs[0]
        if dropout and training and k < num_layers - 1:
            inp = F.dropout(inp, dropout, training=True)
    return inp, torch.stack(finals)
