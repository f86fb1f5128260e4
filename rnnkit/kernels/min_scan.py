"""minGRU / minLSTM recurrence fused into one native pass (``min_scan.c``).

From the input projection P = x W^T + b the layer's whole output follows by the linear
recurrence h_t = a_t h_{t-1} + b_t, with a_t and b_t elementwise functions of P_t (see
``rnnkit.layers.minimal``). PyTorch needs a pass over memory per elementwise op and per step;
the kernel reads P once and writes h once going forward, and going backward reads P, h and dh
once and writes dP once, recomputing the gates instead of storing them. Its gradient is exact
(the same equations as the pure-PyTorch path, tested against it and by gradcheck in float64).

The bias is added inside the kernel (PyTorch's ``addmm`` would spend a pass broadcasting it into
the product) and its gradient summed there; the output gradient may have any strides (the
expanded gradient of ``out.sum()`` is read in place, not copied).

Shapes: P = x W^T (N, L, G*H) with G = 2 (minGRU: [k | p]) or 3 (minLSTM: [f | i | p]); bias
(G*H) or None; h0 (N, H) -> h (N, L, H). CPU tensors of float32 or float64 only;
``supported`` says whether a call can use the kernel.
"""

from __future__ import annotations

import ctypes
from typing import Any

import torch
from torch import Tensor

from rnnkit.kernels.build import DTYPES, Kernel

KINDS = {"gru": 2, "lstm": 3}
SIGNATURES = {
    "rnnkit_min_forward": ("iilllppppi", ctypes.c_int),
    "rnnkit_min_backward": ("iilllppppplllpppi", ctypes.c_int),
}  # argument codes: rnnkit.kernels.build.CODES


_KERNEL = Kernel("min_scan", SIGNATURES)
library = _KERNEL.library  #: the loaded kernel, or None when it cannot be built
supported = _KERNEL.supported  #: whether tensors like ``x`` can use it (CPU float, it builds)


def _ptr(t: Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


class MinScan(torch.autograd.Function):
    """``MinScan.apply(P, bias, h0, kind)``: all h_t; see the module docstring."""

    @staticmethod
    def forward(ctx: Any, projection: Tensor, bias: Tensor | None, h0: Tensor, kind: str) -> Tensor:
        lib = library()
        if lib is None:
            raise RuntimeError("MinScan: the native kernel is unavailable; check supported()")
        p, h0 = projection.contiguous(), h0.to(projection.dtype).contiguous()
        bias = None if bias is None else bias.to(p.dtype).contiguous()
        n, length, width = p.shape
        hidden = width // KINDS[kind]
        out = p.new_empty(n, length, hidden)
        code = lib.rnnkit_min_forward(KINDS[kind], DTYPES[p.dtype], n, length, hidden,
                                      p.data_ptr(), _ptr(bias), h0.data_ptr(), out.data_ptr(),
                                      torch.get_num_threads())  # fmt: skip
        if code != 0:
            raise MemoryError("MinScan: the native kernel could not allocate memory")
        ctx.save_for_backward(p, bias, h0, out)
        ctx.kind = kind
        return out

    @staticmethod
    def backward(ctx: Any, dout: Tensor) -> tuple[Tensor, Tensor | None, Tensor, None]:
        lib = library()
        p, bias, h0, out = ctx.saved_tensors
        n, length, hidden = out.shape
        dp, dh0 = torch.empty_like(p), torch.empty_like(h0)
        dbias = None if bias is None else p.new_empty(n, p.shape[2])
        code = lib.rnnkit_min_backward(  # type: ignore[union-attr]
            KINDS[ctx.kind], DTYPES[p.dtype], n, length, hidden, p.data_ptr(), _ptr(bias),
            h0.data_ptr(), out.data_ptr(), dout.data_ptr(), *dout.stride(), dp.data_ptr(),
            _ptr(dbias), dh0.data_ptr(), torch.get_num_threads(),
        )  # fmt: skip
        if code != 0:
            raise MemoryError("MinScan: the native kernel could not allocate memory")
        return dp, None if dbias is None else dbias.sum(0), dh0, None


def min_scan(projection: Tensor, bias: Tensor | None, h0: Tensor, kind: str) -> Tensor:
    """All h_t of a minGRU (``kind="gru"``) or minLSTM (``"lstm"``) layer from x W^T (N, L, G*H),
    the bias (G*H) or None, and h0 (N, H)."""
    if kind not in KINDS:
        raise ValueError(f"min_scan: kind must be one of {sorted(KINDS)}, got {kind!r}")
    if projection.dim() != 3 or projection.shape[2] != KINDS[kind] * h0.shape[-1]:
        raise ValueError(
            f"min_scan: expected a projection of shape (N, L, {KINDS[kind]}*H) and h0 (N, H), "
            f"got {tuple(projection.shape)} and {tuple(h0.shape)}"
        )
    return MinScan.apply(projection, bias, h0, kind)  # type: ignore[no-any-return]
