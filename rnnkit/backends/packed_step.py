"""Inference steps with pre-packed weights: one matrix product per LSTM / Elman cell.

Under ``torch.no_grad()`` a generation step is bound by reading the weights. ``torch.lstm_cell``
multiplies by ``W_ih`` and ``W_hh`` separately, each stored (4H, I) and read transposed. Here
each cell's weights are packed once into one matrix and its two biases into one vector,

    P = [W_ih | W_hh]  (G*H, I + H),     p = b_ih + b_hh,

so a step is a single product ``[x_t | h_{t-1}] P^T + p`` followed by the cell's pointwise part:

    LSTM:  i, f, g, o = split(gates);  c_t = s(f) c_{t-1} + s(i) tanh(g);  h_t = s(o) tanh(c_t)
    Elman: h_t = act(gates)
    GRU:   r, z from the packed product over [x_t | h_{t-1}] (rows r, z);
           n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn));  h_t = (1 - z) n + z h_{t-1}
           (the GRU keeps W_in and W_hn apart because r multiplies only the W_hn term).

For float32 on CPU the packed matrices are in oneDNN's blocked layout and the products run
through ``rnnkit.ops.onednn`` (about twice as fast as ``addmm`` for one row); otherwise they
are contiguous transposes used by ``addmm``. The packs are cached on the cell and rebuilt
whenever a weight changes (keyed by each parameter's storage pointer and version counter, and the
dtype), so training between calls is safe; they cost one extra copy of the weights while
generating. On CPU the LSTM's pointwise part is one native call (``rnnkit.kernels.lstm_step``,
``cell_forward``) instead of seven tensor ops. Shapes: x (N, I), state (N, H) -> (N, H).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from rnnkit.kernels import lstm_step
from rnnkit.ops import onednn
from rnnkit.ops.versions import parameter_versions

ACTIVATIONS = {"rnn_tanh": torch.tanh, "rnn_relu": torch.relu}
Product = Callable[[Tensor], Tensor]


def _key(cell: nn.Module, kernel: str, fast: bool) -> tuple:
    return kernel, fast, *parameter_versions(cell)


def _summed(*biases: Tensor | None) -> Tensor | None:
    present = [b for b in biases if b is not None]
    return torch.stack(present).sum(0).contiguous() if present else None


def _product(weight: Tensor, bias: Tensor | None, fast: bool) -> Product:
    """x -> x W^T + b, through oneDNN (``fast``) or ``addmm`` on a contiguous transpose."""
    if fast:
        packed = onednn.pack(weight, 1)
        return lambda x: onednn.linear(x, packed, bias)
    transposed = weight.t().contiguous()
    if bias is None:
        return lambda x: torch.mm(x, transposed)
    return lambda x: torch.addmm(bias, x, transposed)


def packed(cell: nn.Module, kernel: str, like: Tensor) -> tuple[Product, ...]:
    """The cell's packed products for ``kernel``, built on first use and after any change."""
    fast = onednn.available(like)
    key = _key(cell, kernel, fast)
    cache = cell.__dict__.get("_packed_step")
    if cache is not None and cache[0] == key:
        return cache[1]  # type: ignore[no-any-return]
    w_ih, w_hh, b_ih, b_hh = cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh
    with torch.no_grad():
        if kernel == "gru":
            h = w_hh.shape[1]

            def part(b: Tensor | None, rows: slice) -> Tensor | None:
                return None if b is None else b[rows].contiguous()

            rz, n = slice(0, 2 * h), slice(2 * h, 3 * h)
            products: tuple[Product, ...] = (
                _product(torch.cat([w_ih[rz], w_hh[rz]], dim=1), _summed(part(b_ih, rz),
                         part(b_hh, rz)), fast),
                _product(w_ih[n], part(b_ih, n), fast),
                _product(w_hh[n], part(b_hh, n), fast),
            )  # fmt: skip
        else:
            products = (_product(torch.cat([w_ih, w_hh], dim=1), _summed(b_ih, b_hh), fast),)
    cell.__dict__["_packed_step"] = (key, products)
    return products


def packed_step(
    kernel: str, cell: nn.Module, x: Tensor, state: tuple[Tensor, ...]
) -> tuple[Tensor, ...]:
    """One no-grad step of ``cell``: returns (h,) or, for the LSTM, (h, c)."""
    products = packed(cell, kernel, x)
    h = state[0]
    joined = torch.cat([x, h], dim=1)
    if kernel == "lstm":
        if lstm_step.supported(x):  # the pointwise part in one native call
            return lstm_step.cell_forward(products[0](joined), state[1])
        i, f, g, o = products[0](joined).chunk(4, dim=1)
        c = torch.addcmul(torch.sigmoid(i) * torch.tanh(g), torch.sigmoid(f), state[1])
        return torch.sigmoid(o) * torch.tanh(c), c
    if kernel == "gru":
        r, z = torch.sigmoid(products[0](joined)).chunk(2, dim=1)
        n = torch.tanh(products[1](x) + r * products[2](h))
        return (torch.lerp(n, h, z),)
    return (ACTIVATIONS[kernel](products[0](joined)),)
