"""Generation steps of plain LSTM stacks in native code (``lstm_token_step.c``): per layer, one
call does the product with the packed weights and the pointwise part, for a few rows.

The batch-1 step is bound by reading the weights; through PyTorch it also pays for about ten
operator calls per layer (concatenation, product, pointwise, stacking the state), as much again
as the product. Here a layer is one call, with the weights laid out once into panels of
``UNITS`` hidden units (each panel a contiguous (I + H, 4u) block holding all four gates of its
units; see the C source), cached on the cell and rebuilt whenever a parameter changes (keyed by
each parameter's storage pointer and version counter, and the dtype).

    a = [x_t | h_{t-1}] [W_ih | W_hh]^T + b_ih + b_hh;  i, f, g, o = split(a)
    c_t = s(f) c_{t-1} + s(i) tanh(g);  h_t = s(o) tanh(c_t)

Shapes: x (N, I) (rows may be strided), h_{t-1}, c_{t-1} (N, H) -> h_t, c_t (N, H); N is at
most ``MAX_ROWS`` (larger batches are products, which oneDNN does better).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.kernels.build import DTYPES, Kernel

SIGNATURES = {"rnnkit_lstm_token_step": ("illlppplppppi", None)}  # codes: build.CODES
UNITS = 16  #: hidden units per panel (as in the C source)
MAX_ROWS = 8  #: the most rows a step takes here
#: a layer with fewer weights than this runs on one thread (a team costs more than it saves)
MIN_PARALLEL_WEIGHTS = 1 << 16

_KERNEL = Kernel("lstm_token_step", SIGNATURES)
library = _KERNEL.library  #: the loaded kernel, or None when it cannot be built
supported = _KERNEL.supported  #: whether tensors like ``x`` can use it (CPU float, it builds)


def panel_order(hidden: int) -> Tensor:
    """Row indices of P = [W_ih | W_hh] (4H rows, gates i, f, g, o) in panel order: for each
    panel of units [j0, j0 + u), gate 0 of those units, then gate 1, 2, 3."""
    order = []
    for j0 in range(0, hidden, UNITS):
        units = torch.arange(j0, min(j0 + UNITS, hidden))
        order.extend(units + q * hidden for q in range(4))
    return torch.cat(order)


def pack(cell: nn.Module) -> tuple[Tensor, Tensor]:
    """The cell's weights as panels (flat, (I + H) * 4H values) and its summed bias in panel
    order (4H,), built on first use and after any change to a parameter."""
    params = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    key = tuple((p.data_ptr(), p._version, p.dtype) if p is not None else None for p in params)
    cached = cell.__dict__.get("_token_step_pack")
    if cached is not None and cached[0] == key:
        return cached[1]  # type: ignore[no-any-return]
    w_ih, w_hh = cell.weight_ih, cell.weight_hh
    hidden, width = w_hh.shape[1], w_ih.shape[1] + w_hh.shape[1]
    with torch.no_grad():
        order = panel_order(hidden).to(w_ih.device)
        joined = torch.cat([w_ih, w_hh], dim=1)[order]  # (4H, I + H), panel order
        panels = [
            joined[4 * j0 : 4 * min(j0 + UNITS, hidden)].t().contiguous().view(-1)
            for j0 in range(0, hidden, UNITS)
        ]  # each (I + H, 4u), row-major
        weights = torch.cat(panels)
        bias = torch.zeros(4 * hidden, dtype=w_ih.dtype, device=w_ih.device)
        for b in (cell.bias_ih, cell.bias_hh):
            if b is not None:
                bias += b
        bias = bias[order].contiguous()
    assert weights.numel() == width * 4 * hidden
    cell.__dict__["_token_step_pack"] = (key, (weights, bias))
    return weights, bias


def threads(input_size: int, hidden: int) -> int:
    """Threads for one layer's step: PyTorch's team when the layer's weights are large enough,
    at most one per panel."""
    lib = library()
    if lib is None or 4 * hidden * (input_size + hidden) < MIN_PARALLEL_WEIGHTS:
        return 1
    panels = -(-hidden // UNITS)
    return max(1, min(int(lib.rnnkit_max_threads()), panels))


def layer_step(
    cell: nn.Module, x: Tensor, h_prev: Tensor, c_prev: Tensor, h: Tensor, c: Tensor
) -> None:
    """Write the step's h_t and c_t into ``h`` and ``c`` (contiguous (N, H)). x (N, I) has unit
    column stride; h_prev, c_prev are contiguous (N, H). Needs ``supported(x)``, N <=
    ``MAX_ROWS``, and ``cell`` a plain LSTM cell of x's dtype."""
    lib = library()
    assert lib is not None and x.shape[0] <= MAX_ROWS and x.stride(1) == 1
    weights, bias = pack(cell)
    n, width = x.shape
    hidden = h.shape[1]
    lib.rnnkit_lstm_token_step(
        DTYPES[x.dtype], n, width, hidden, weights.data_ptr(), bias.data_ptr(), x.data_ptr(),
        x.stride(0), h_prev.data_ptr(), c_prev.data_ptr(), h.data_ptr(), c.data_ptr(),
        threads(width, hidden),
    )  # fmt: skip
