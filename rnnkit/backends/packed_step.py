"""Inference steps with pre-packed weights: one matrix product per LSTM / Elman cell.

Under ``torch.no_grad()`` a generation step is bound by reading the weights. ``torch.lstm_cell``
multiplies by ``W_ih`` and ``W_hh`` separately, each stored (4H, I) and read transposed. Here
each cell's weights are packed once into one contiguous, already-transposed matrix and its two
biases into one vector,

    P = [W_ih | W_hh]^T  (I + H, G*H),     p = b_ih + b_hh,

so a step is a single ``addmm(p, [x_t | h_{t-1}], P)`` followed by the cell's pointwise part:

    LSTM:  i, f, g, o = split(gates);  c_t = s(f) c_{t-1} + s(i) tanh(g);  h_t = s(o) tanh(c_t)
    Elman: h_t = act(gates)
    GRU:   r, z from the packed product over [x_t | h_{t-1}] (rows r, z);
           n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn));  h_t = (1 - z) n + z h_{t-1}
           (the GRU keeps W_in and W_hn apart because r multiplies only the W_hn term).

The packs are cached on the cell and rebuilt whenever a weight changes (keyed by each
parameter's storage pointer and version counter), so training between calls is safe; they cost
one extra copy of the weights while generating. Shapes: x (N, I), state (N, H) -> (N, H).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

ACTIVATIONS = {"rnn_tanh": torch.tanh, "rnn_relu": torch.relu}


def _key(cell: nn.Module) -> tuple:
    params = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    return tuple((p.data_ptr(), p._version) if p is not None else None for p in params)


def _bias(b_ih: Tensor | None, b_hh: Tensor | None, rows: int, like: Tensor) -> Tensor:
    total = like.new_zeros(rows)
    for b in (b_ih, b_hh):
        if b is not None:
            total = total + b
    return total


def packed(cell: nn.Module, kernel: str) -> tuple[Tensor, ...]:
    """The cell's packed weights for ``kernel``, built on first use and after any change."""
    key = (kernel, _key(cell))
    cache = cell.__dict__.get("_packed_step")
    if cache is not None and cache[0] == key:
        return cache[1]  # type: ignore[no-any-return]
    w_ih, w_hh, b_ih, b_hh = cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh
    with torch.no_grad():
        if kernel == "gru":
            h = w_hh.shape[1]
            rz = torch.cat([w_ih[: 2 * h], w_hh[: 2 * h]], dim=1).t().contiguous()
            zero = w_ih.new_zeros(3 * h)
            bi = b_ih if b_ih is not None else zero
            bh = b_hh if b_hh is not None else zero
            pack: tuple[Tensor, ...] = (
                rz, (bi[: 2 * h] + bh[: 2 * h]).contiguous(),
                w_ih[2 * h :].t().contiguous(), bi[2 * h :].contiguous(),
                w_hh[2 * h :].t().contiguous(), bh[2 * h :].contiguous(),
            )  # fmt: skip
        else:
            weight = torch.cat([w_ih, w_hh], dim=1).t().contiguous()
            pack = (weight, _bias(b_ih, b_hh, w_ih.shape[0], w_ih))
    cell.__dict__["_packed_step"] = (key, pack)
    return pack


def packed_step(
    kernel: str, cell: nn.Module, x: Tensor, state: tuple[Tensor, ...]
) -> tuple[Tensor, ...]:
    """One no-grad step of ``cell``: returns (h,) or, for the LSTM, (h, c)."""
    pack = packed(cell, kernel)
    h = state[0]
    joined = torch.cat([x, h], dim=1)
    if kernel == "lstm":
        i, f, g, o = torch.addmm(pack[1], joined, pack[0]).chunk(4, dim=1)
        c = torch.addcmul(torch.sigmoid(i) * torch.tanh(g), torch.sigmoid(f), state[1])
        return torch.sigmoid(o) * torch.tanh(c), c
    if kernel == "gru":
        r, z = torch.sigmoid(torch.addmm(pack[1], joined, pack[0])).chunk(2, dim=1)
        n = torch.tanh(torch.addmm(pack[3], x, pack[2]) + r * torch.addmm(pack[5], h, pack[4]))
        return (torch.lerp(n, h, z),)
    return (ACTIVATIONS[kernel](torch.addmm(pack[1], joined, pack[0])),)
