"""A GRU sequence function with a hand-written backward: GRU training and inference on CPU.

PyTorch has no oneDNN GRU on CPU: ``torch.gru`` there records every gate op of every step for
autograd and computes the weight gradients step by step. This function runs the same equations
(PyTorch's GRU, ``reset_after=True``):

    r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z),  n = tanh(gi_n + r * gh_n)
    h_t = (1 - z) * n + z * h_{t-1}          gi = W_ih x_t + b_ih,  gh = W_hh h_{t-1} + b_hh

and its backward walks the steps once, keeping per step only the matrix product
dh_{t-1} = dgh_t W_hh and a few element-wise ops; the gradients of W_hh and b_hh are then one
large matrix product over all steps. Padded steps (``mask`` false) keep the state unchanged.

Two functions: ``GRUSequence`` takes the input projection xp (computed by the caller through
``onednn.project``) and runs every step with PyTorch ops: the reference, the form for
``reset_after=False``, and the fallback without a C compiler. ``GRULayer`` (``reset_after=True``
on CPU, used whenever the native kernel builds) takes x itself: one native call per step for
the element-wise part, and the input projection and its gradients computed in blocks of steps
(``rnnkit.kernels.gru_step``), so no whole-sequence projection or gradient is ever allocated.
Without grad the same steps run outside autograd and keep no gates (inference).

Shapes: xp (N, L, 3H) = W_ih x + b_ih; h0 (N, H); w_hh (3H, H); b_hh (3H,); mask (N, L) bool
or None -> h (N, L, H), the state after each step (equal to the previous one on padded steps).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.backends.sequence import outputs_and_last, step_mask
from rnnkit.backends.stack import run_stack
from rnnkit.kernels import blocks, gru_step
from rnnkit.ops import onednn
from rnnkit.ops.first_order import GENERIC, first_order


class GRUSequence(torch.autograd.Function):
    """``GRUSequence.apply(xp, h0, w_hh, b_hh, mask, reset_after)``; see the module docstring.

    ``reset_after=False`` is Cho et al.'s form, n = tanh(gi_n + W_hn (r * h_{t-1}) + b_hn): two
    products per step (the r/z block on h, the n block on r * h) instead of one.
    """

    @staticmethod
    def forward(
        ctx: Any,
        xp: Tensor,
        h0: Tensor,
        w_hh: Tensor,
        b_hh: Tensor,
        mask: Tensor | None,
        reset_after: bool = True,
    ) -> Tensor:
        ctx.reset_after = reset_after
        n, steps, g = xp.shape
        hs = g // 3
        rz_all = xp.new_empty(n, steps, 2 * hs)
        cand_all = xp.new_empty(n, steps, hs)
        aux_all = xp.new_empty(n, steps, hs)  # reset_after: W_hn h + b_hn; else r * h
        out = xp.new_empty(n, steps, hs)
        w_t, w_rz, w_n = w_hh.t(), w_hh[: 2 * hs].t(), w_hh[2 * hs :].t()
        h = h0
        for t in range(steps):
            gi = xp[:, t]
            if reset_after:
                gh = torch.addmm(b_hh, h, w_t)
                rz = torch.sigmoid(gi[:, : 2 * hs] + gh[:, : 2 * hs])
                aux = gh[:, 2 * hs :]
                cand = torch.tanh(torch.addcmul(gi[:, 2 * hs :], rz[:, :hs], aux))
            else:
                rz = torch.sigmoid(torch.addmm(b_hh[: 2 * hs], h, w_rz) + gi[:, : 2 * hs])
                aux = rz[:, :hs] * h
                cand = torch.tanh(torch.addmm(b_hh[2 * hs :], aux, w_n) + gi[:, 2 * hs :])
            new = torch.lerp(cand, h, rz[:, hs:])
            h = new if mask is None else torch.where(mask[:, t, None], new, h)
            out[:, t], rz_all[:, t], cand_all[:, t], aux_all[:, t] = h, rz, cand, aux
        ctx.save_for_backward(h0, w_hh, out, rz_all, cand_all, aux_all, mask)
        return out

    @staticmethod
    @first_order(GENERIC.format(name="GRUSequence (the GRU's sequence path)"))
    def backward(ctx: Any, dout: Tensor) -> tuple[Tensor | None, ...]:
        h0, w_hh, out, rz_all, cand_all, aux_all, mask = ctx.saved_tensors
        reset_after = ctx.reset_after
        n, steps, hs = out.shape
        prev_all = torch.cat([h0.unsqueeze(1), out[:, :-1]], dim=1)
        dgi = dout.new_empty(n, steps, 3 * hs)
        dgh = dout.new_zeros(n, steps, 3 * hs)
        w_rz, w_n = w_hh[: 2 * hs], w_hh[2 * hs :]
        dh = torch.zeros_like(h0)
        for t in range(steps - 1, -1, -1):
            total = dh + dout[:, t]
            keep = None if mask is None else mask[:, t, None].to(total.dtype)
            d_new = total if keep is None else total * keep
            r, z = rz_all[:, t, :hs], rz_all[:, t, hs:]
            cand, prev = cand_all[:, t], prev_all[:, t]
            d_cand = d_new * (1 - z) * (1 - cand * cand)
            d_z = d_new * (prev - cand) * z * (1 - z)
            dgi[:, t, hs : 2 * hs] = dgh[:, t, hs : 2 * hs] = d_z
            dgi[:, t, 2 * hs :] = d_cand
            if reset_after:
                d_r = d_cand * aux_all[:, t] * r * (1 - r)
                dgh[:, t, 2 * hs :] = d_cand * r
                dgi[:, t, :hs] = dgh[:, t, :hs] = d_r
                dh = torch.addmm(d_new * z, dgh[:, t], w_hh)
            else:
                d_rh = d_cand @ w_n
                d_r = d_rh * prev * r * (1 - r)
                dgh[:, t, 2 * hs :] = d_cand
                dgi[:, t, :hs] = dgh[:, t, :hs] = d_r
                dh = torch.addmm(torch.addcmul(d_new * z, d_rh, r), dgh[:, t, : 2 * hs], w_rz)
            if keep is not None:
                dh = dh + total * (1 - keep)
        flat = dgh.reshape(n * steps, 3 * hs)
        prev_flat = prev_all.reshape(n * steps, hs)
        if reset_after:
            dw_hh = flat.t() @ prev_flat
        else:
            dw_hh = torch.cat([flat[:, : 2 * hs].t() @ prev_flat,
                               flat[:, 2 * hs :].t() @ aux_all.reshape(n * steps, hs)])  # fmt: skip
        return dgi, dh, dw_hh, flat.sum(0), None, None


class GRULayer(torch.autograd.Function):
    """``GRULayer.apply(x, w_ih, b_ih, h0, w_hh, b_hh, mask)``: one GRU layer
    (``reset_after=True``) from its input x (N, L, I), the input projection included, on the
    native kernel (``rnnkit.kernels.gru_step``, which see for the blocks of steps it works in).
    Returns h (N, L, H), a batch-first view of time-major storage. b_ih may be None."""

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        w_ih: Tensor,
        b_ih: Tensor | None,
        h0: Tensor,
        w_hh: Tensor,
        b_hh: Tensor,
        mask: Tensor | None,
    ) -> Tensor:
        h0 = h0.contiguous()
        out, saved = gru_step.forward(x, w_ih, b_ih, h0, w_hh, b_hh, mask)
        ctx.save_for_backward(x, w_ih, h0, w_hh, out, mask, *saved)
        ctx.has_bias = b_ih is not None
        return out.transpose(0, 1)

    @staticmethod
    @first_order(GENERIC.format(name="GRULayer (the GRU's native training path)"))
    def backward(ctx: Any, dout: Tensor) -> tuple[Tensor | None, ...]:
        x, w_ih, h0, w_hh, out, mask, *saved = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        grads = blocks.InputGradients(x, w_ih, (need_x, need_w, need_b and ctx.has_bias))
        dh, dw_hh, db_hh = gru_step.backward(dout, h0, w_hh, out, saved, mask, grads)
        return *grads.results(), dh, dw_hh, db_hh, None


def native_layer(cell: nn.Module, x: Tensor) -> bool:
    """Whether ``GRULayer`` can run ``cell`` on x: ``reset_after=True``, the kernel builds for
    x's dtype, the weights share it, and CPU autocast is off (it would compute in bfloat16)."""
    return (
        cell.reset_after
        and gru_step.supported(x)
        and cell.weight_ih.dtype == cell.weight_hh.dtype == x.dtype
        and not torch.is_autocast_enabled("cpu")
    )


def _needs_grad(x: Tensor, h0: Tensor, cell: nn.Module) -> bool:
    """Whether autograd must see this layer: grad mode is on and an input or weight needs it."""
    return torch.is_grad_enabled() and any(
        t is not None and t.requires_grad
        for t in (x, h0, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    )


def run_gru_sequence(
    cells: Sequence[nn.Module],
    x: Tensor,
    state: Tensor | None,
    lengths: Tensor | None,
    *,
    native: bool = False,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    training: bool = False,
    reverse: bool = False,
    ops: Any = None,
) -> tuple[Tensor, Tensor]:
    """A stack of standard GRU cells (layer-major, direction-minor), every cell through
    ``GRULayer`` (``native=True``; see ``native_layer``) or ``GRUSequence`` with oneDNN's input
    projection; ``run_fused``'s other arguments and results. The dispatch
    (``rnnkit.backends.dispatch``) says which. ``ops`` (``rnnkit.backends.custom_ops.Ops``, for
    traced calls) runs the same functions as registered operators."""
    layer = GRULayer.apply if ops is None else ops.gru_layer
    sequence = GRUSequence.apply if ops is None else ops.gru_sequence
    if lengths is not None:
        lengths = lengths.to(x.device)
    mask = step_mask(lengths, x.shape[1], x.device)

    def direction(cell: nn.Module, seq: Tensor, start: tuple[Tensor, ...] | None) -> tuple:
        hs = cell.hidden_size
        h0 = start[0] if start is not None else seq.new_zeros(seq.shape[0], hs)
        b_hh = cell.bias_hh if cell.bias_hh is not None else seq.new_zeros(3 * hs)
        if native and ops is None and not _needs_grad(seq, h0, cell):  # inference: no gates
            out = gru_step.forward(seq, cell.weight_ih, cell.bias_ih, h0.contiguous(),
                                   cell.weight_hh, b_hh, mask, keep=False)[0]  # fmt: skip
            h = out.transpose(0, 1)
        elif native:
            h = layer(seq, cell.weight_ih, cell.bias_ih, h0, cell.weight_hh, b_hh, mask)
        else:  # time-major storage seen batch-first: each step's rows lie side by side
            xp = onednn.project(seq.transpose(0, 1), cell.weight_ih, cell.bias_ih)
            xp = xp.transpose(0, 1)  # oneDNN's product where it runs (faster than MKL's)
            h = sequence(xp, h0, cell.weight_hh, b_hh, mask, cell.reset_after)
        h, final = outputs_and_last(h, mask)
        return h, (final,)

    parts = None if state is None else (state,)
    out, finals = run_stack(direction, cells, x, parts, lengths, num_layers=num_layers,
                            bidirectional=bidirectional, dropout=dropout, training=training,
                            reverse=reverse)  # fmt: skip
    return out, finals[0]
