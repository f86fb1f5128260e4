"""Generation steps of plain LSTM and GRU stacks in native code (``token_step.c``): one call
does every layer's products with the packed weights and its pointwise part, for a few rows.

The batch-1 step is bound by reading the weights; through PyTorch it also pays for about ten
operator calls per layer (concatenation, products, pointwise, stacking the state), as much again
as the products. Here the stack is one call, with each layer's weights laid out once into panels
of ``UNITS`` hidden units (each panel a contiguous (I + H, G u) block holding all G gates of its
units; see the C source), cached on the cell and rebuilt whenever a parameter changes (keyed by
each parameter's storage pointer and version counter, and the dtype). The arrays of the layers'
addresses and the thread count are cached too (``_plan``): streaming 14 MB of weights per token
leaves the core's caches cold for the Python around the call, which then costs several times
what it costs warm, so each call does as little as it can.

    LSTM: a = [x_t | h_{t-1}] [W_ih | W_hh]^T + b_ih + b_hh;  i, f, g, o = split(a)
          c_t = s(f) c_{t-1} + s(i) tanh(g);  h_t = s(o) tanh(c_t)
    GRU:  r = s(W_ir x_t + W_hr h_{t-1} + b_r),  z = s(W_iz x_t + W_hz h_{t-1} + b_z),
          n = tanh(W_in x_t + b_in + r (W_hn h_{t-1} + b_hn)),  h_t = (1 - z) n + z h_{t-1}

Shapes: x (N, I) (rows may be strided), h_{t-1} (and c_{t-1}) (K, N, H) -> h_t (and c_t)
(K, N, H) for K layers, and the last layer's h_t (N, H) again as the output; N is at most
``MAX_ROWS`` (larger batches are products, which oneDNN does better).
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from rnnkit.kernels import prototypes
from rnnkit.kernels.build import DTYPES, Kernel
from rnnkit.ops.versions import parameter_versions

SIGNATURES = prototypes.signatures("token_step.c")  #: read from the C definitions
GATES = {"lstm": 4, "gru": 3}  #: the kernels this step runs, and their gate blocks
UNITS = 16  #: hidden units per panel (as in the C source)
MAX_ROWS = 8  #: the most rows a step takes here

_KERNEL = Kernel("token_step", SIGNATURES)
library = _KERNEL.library  #: the loaded kernel, or None when it cannot be built
supported = _KERNEL.supported  #: whether tensors like ``x`` can use it (CPU float, it builds)


def panel_order(hidden: int, gates: int) -> Tensor:
    """Row indices of ``gates`` blocks of ``hidden`` rows in panel order: for each panel of
    units [j0, j0 + u), gate 0 of those units, then gate 1, ..."""
    order = []
    for j0 in range(0, hidden, UNITS):
        units = torch.arange(j0, min(j0 + UNITS, hidden))
        order.extend(units + q * hidden for q in range(gates))
    return torch.cat(order)


def _bias(cell: nn.Module, kernel: str) -> Tensor:
    """The step's biases as 4 blocks of H, gate-major: the LSTM's b_ih + b_hh; the GRU's
    b_ir + b_hr, b_iz + b_hz, b_in, b_hn (zeros where the cell has no bias)."""
    hidden = cell.weight_hh.shape[1]
    like = cell.weight_ih
    b_ih = cell.bias_ih if cell.bias_ih is not None else like.new_zeros(GATES[kernel] * hidden)
    b_hh = cell.bias_hh if cell.bias_hh is not None else like.new_zeros(GATES[kernel] * hidden)
    if kernel == "lstm":
        return b_ih + b_hh
    rz = slice(0, 2 * hidden)
    return torch.cat([b_ih[rz] + b_hh[rz], b_ih[2 * hidden :], b_hh[2 * hidden :]])


def pack(cell: nn.Module, kernel: str) -> tuple[Tensor, Tensor]:
    """The cell's weights as panels (flat, (I + H) * G H values) and its biases in panel order
    (4H,), built on first use and after any change to a parameter."""
    key = (kernel, *parameter_versions(cell))
    cached = cell.__dict__.get("_token_step_pack")
    if cached is not None and cached[0] == key:
        return cached[1]  # type: ignore[no-any-return]
    gates, hidden = GATES[kernel], cell.weight_hh.shape[1]
    with torch.no_grad():
        order = panel_order(hidden, gates).to(cell.weight_ih.device)
        joined = torch.cat([cell.weight_ih, cell.weight_hh], dim=1)[order]  # (G H, I + H)
        panels = [
            joined[gates * j0 : gates * min(j0 + UNITS, hidden)].t().contiguous().view(-1)
            for j0 in range(0, hidden, UNITS)
        ]  # each (I + H, G u), row-major
        weights = torch.cat(panels)
        bias = _bias(cell, kernel)[panel_order(hidden, 4).to(order.device)].contiguous()
    cell.__dict__["_token_step_pack"] = (key, (weights, bias))
    return weights, bias


def threads(input_size: int, hidden: int, gates: int = 4) -> int:
    """Threads for a step: ``Kernel.threads`` with panels as the units split over threads, each
    of ``gates * (input_size + hidden) * UNITS`` weights (for a stack, its narrowest layer's)."""
    return _KERNEL.threads(-(-hidden // UNITS), gates * (input_size + hidden) * UNITS)


def stack_step(
    kernel: str, cells: Sequence[nn.Module], x: Tensor, h_prev: Tensor, h: Tensor, out: Tensor,
    c_prev: Tensor | None = None, c: Tensor | None = None,
) -> None:  # fmt: skip
    """Write the step's h_t (and the LSTM's c_t) of every layer into ``h`` (and ``c``), and the
    last layer's h_t into ``out``, in one native call. x (N, I) or (N, 1, I) has unit column
    stride (rows may be strided); h_prev, h (and c_prev, c) are contiguous (K, N, H) for
    K = len(cells), out contiguous (N, H) or (N, 1, H). Needs ``supported(x)``,
    N <= ``MAX_ROWS``, and ``cells`` plain cells of ``kernel`` in x's dtype, layer k > 0 of
    input size H."""
    lib = library()
    assert lib is not None and x.shape[0] <= MAX_ROWS and x.stride(-1) == 1
    assert (kernel == "lstm") == (c is not None and c_prev is not None)
    layers, n, hidden = h.shape
    weights, biases, count = _plan(kernel, cells, x.shape[-1])
    lib.rnnkit_token_stack(
        DTYPES[x.dtype], GATES[kernel], layers, n, x.shape[-1], hidden, weights, biases,
        x.data_ptr(), x.stride(0), h_prev.data_ptr(), None if c_prev is None else c_prev.data_ptr(),
        h.data_ptr(), None if c is None else c.data_ptr(), out.data_ptr(), count,
    )  # fmt: skip


def _plan(kernel: str, cells: Sequence[nn.Module], width: int) -> tuple[int, int, int]:
    """Addresses of two arrays of pointers, to each layer's panels and to its biases (``pack``),
    and the threads for a stack whose first layer takes ``width`` inputs; cached on the first
    cell while every layer's parameters (their storage and version counters) and PyTorch's
    thread count stay the same."""
    key = (kernel, width, torch.get_num_threads(), *map(parameter_versions, cells))
    cached = cells[0].__dict__.get("_token_stack_plan")
    if cached is None or cached[0] != key:
        packs = [pack(cell, kernel) for cell in cells]
        array = ctypes.c_void_p * len(packs)
        weights = array(*(w.data_ptr() for w, _ in packs))
        biases = array(*(b.data_ptr() for _, b in packs))
        hidden = cells[0].weight_hh.shape[1]
        count = threads(min(width, hidden), hidden, GATES[kernel])
        # the packs are kept with their addresses, so the pointers cannot dangle
        plan = (ctypes.addressof(weights), ctypes.addressof(biases), count)
        cached = (key, plan, weights, biases, packs)
        cells[0].__dict__["_token_stack_plan"] = cached
    return cached[1]  # type: ignore[no-any-return]
