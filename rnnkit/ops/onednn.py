"""Matrix products through oneDNN with pre-packed weights, for CPU step loops.

PyTorch's ``addmm`` on CPU calls MKL. For the small products of a recurrent step (a batch of 1
to 64 rows times a (G*H, K) weight) oneDNN with the weight reordered once into its blocked
layout is faster (``benchmarks/products.py`` measures both), which is what
``torch.nn.LSTM``'s own oneDNN kernel enjoys. PyTorch reaches it through the operators it
registers for its compiler (``torch.ops.mkldnn._reorder_linear_weight`` and
``_linear_pointwise``); these are used when present, for float32 CPU tensors, and everything
falls back to ``addmm`` otherwise (or with ``RNNKIT_ONEDNN=0``). Results equal ``addmm``'s up
to float32 rounding (a different summation order; tested).

    y = x W^T + b:   x (N, K), W (M, K) packed by ``pack(W, N)``, b (M,) or None -> y (N, M)
    y = o + x W^T:   ``linear_add(x, packed, o)``, o (N, M)
"""

from __future__ import annotations

import functools
import os
from typing import Any

import torch
from torch import Tensor

from rnnkit.ops.tracing import tracing


def available(like: Tensor) -> bool:
    """Whether ``pack``/``linear`` can run for tensors like ``like`` (CPU float32)."""
    return (
        like.device.type == "cpu"
        and like.dtype == torch.float32
        and _ops_present()
        and os.environ.get("RNNKIT_ONEDNN", "1").lower() not in {"0", "false", "no", "off"}
    )


@functools.cache
def _ops_present() -> bool:
    ops = torch.ops.mkldnn
    return (
        torch.backends.mkldnn.is_available()
        and hasattr(ops, "_reorder_linear_weight")
        and hasattr(ops, "_linear_pointwise")
    )


def pack(weight: Tensor, batch_size: int) -> Tensor:
    """``weight`` (M, K) in oneDNN's blocked layout, for products with ``batch_size`` rows
    (a hint: other row counts still work)."""
    return torch.ops.mkldnn._reorder_linear_weight(weight.detach().contiguous(), batch_size)


def linear(x: Tensor, packed: Tensor, bias: Tensor | None = None) -> Tensor:
    """x W^T + b with W packed by ``pack``: x (N, K) -> (N, M). No autograd."""
    return torch.ops.mkldnn._linear_pointwise(x.contiguous(), packed, bias, "none", [], "")


def linear_add(x: Tensor, packed: Tensor, other: Tensor) -> Tensor:
    """other + x W^T in one call (the sum fused into the product): other (N, M)."""
    return torch.ops.mkldnn._linear_pointwise.binary(
        x.contiguous(), other.contiguous(), packed, None, "add"
    )


class Linear(torch.autograd.Function):
    """``Linear.apply(x, weight, bias)`` = x W^T + b with oneDNN going forward (W packed per
    call, the bias added in the product) and PyTorch's products going backward: dx = dy W,
    dW = (x^T dy)^T (MKL runs that layout faster than dy^T x here), db = dy summed over rows.
    x (..., K), W (M, K), b (M,) or None."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
        flat = x.reshape(-1, x.shape[-1])
        ctx.save_for_backward(x, weight)
        out = linear(flat, pack(weight, flat.shape[0]), bias)
        return out.view(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx: Any, dy: Tensor) -> tuple[Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        flat_dy = dy.reshape(-1, dy.shape[-1])
        need_x, need_w, need_b = ctx.needs_input_grad
        dx = (flat_dy @ weight).view(x.shape) if need_x else None
        dw = (x.reshape(-1, x.shape[-1]).t() @ flat_dy).t().contiguous() if need_w else None
        db = flat_dy.sum(0) if need_b else None
        return dx, dw, db


class PackedProduct:
    """x W^T + b for many calls with one weight: W packed once for oneDNN where ``available``
    (``rows``, the row count of the calls, is its hint), else ``addmm``/``mm``. No autograd.
    W (M, K), b (M,) or None; a call maps x (..., K) to a new contiguous (..., M)."""

    def __init__(self, weight: Tensor, rows: int, bias: Tensor | None = None) -> None:
        self.weight, self.bias = weight, bias
        self.packed = pack(weight, rows) if available(weight) else None

    def __call__(self, x: Tensor) -> Tensor:
        flat = x.reshape(-1, x.shape[-1])
        if self.packed is not None:
            y = linear(flat, self.packed, self.bias)
        elif self.bias is None:
            y = flat @ self.weight.t()
        else:
            y = torch.addmm(self.bias, flat, self.weight.t())
        return y.view(*x.shape[:-1], self.weight.shape[0])


def project(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x W^T + b for a whole sequence, differentiable: oneDNN forward where ``available`` (and
    the bias, if any, of W's dtype), else ``F.linear`` (also while traced: ``torch.compile``
    lowers that to its own packed product, and oneDNN's operators here break its lowering).
    x (N, L, K), W (M, K), b (M,) or None -> (N, L, M)."""
    if (
        available(x) and x.numel() and not torch.is_autocast_enabled() and tracing(x) is None
        and weight.dtype == x.dtype and (bias is None or bias.dtype == x.dtype)
    ):  # fmt: skip
        return Linear.apply(x, weight, bias)  # type: ignore[no-any-return]
    return torch.nn.functional.linear(x, weight, bias)
