"""minGRU / minLSTM recurrence fused into one native pass (``min_scan.c``).

From the input projection P = x W^T + b the layer's whole output follows by the linear
recurrence h_t = a_t h_{t-1} + b_t, with a_t and b_t elementwise functions of P_t (see
``rnnkit.layers.minimal``). PyTorch needs a pass over memory per elementwise op and per step;
the kernel reads P once and writes h once going forward, and going backward reads P, h and dh
once and writes dP once. Its gradient is exact (the same equations as the pure-PyTorch path,
tested against it and by gradcheck in float64).

The bias is added inside the kernel (PyTorch's ``addmm`` would spend a pass broadcasting it into
the product) and its gradient summed there; the output gradient may have any strides (the
expanded gradient of ``out.sum()`` is read in place, not copied).

``min_layer`` runs a whole layer from x: the product (oneDNN with W packed once per call, where
available) and the recurrence alternate over groups of batch rows (``chunk_rows``: about
``CHUNK_BYTES`` of P each), so each group's P is scanned while much of it is still in the cache,
and the backward never holds dP for more than one group: it scans a group's gradient and at
once adds x_g^T dP_g to W's gradient, held transposed (and writes dP_g W into x's). Training
keeps each group's P for the backward; inference drops it after the group. The training
forward stores the gates over its P (a minGRU z and the signed candidate; a minLSTM two signed
exponentials and the signed candidate; ``min_scan.c``), from which the backward needs no
exponential, and the backward writes each group's dP over them, with no buffer; a second
backward through the same graph (``retain_graph=True``) computes them again first.
Groups stay under glibc's 32 MiB ceiling for blocks it serves from the heap, so after the first
call they are reused instead of being mapped and page-faulted afresh, as one (N, L, G*H) block
would be every call (at hidden 512, batch 32, T 1024 that block is 128 MiB). Rows are
independent, so grouping changes the order of nothing but W's gradient sum.

Shapes: P = x W^T (N, L, G*H) with G = 2 (minGRU: [k | p]) or 3 (minLSTM: [f | i | p]); bias
(G*H) or None; h0 (N, H) -> h (N, L, H); x (N, L, I), W (G*H, I). CPU tensors of float32 or
float64 only; ``supported`` says whether a call can use the kernel.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rnnkit.kernels import prototypes
from rnnkit.kernels.build import DTYPES, MIN_PARALLEL_VALUES, Kernel
from rnnkit.ops import onednn
from rnnkit.ops.first_order import LOG_SCAN, first_order

KINDS = {"gru": 2, "lstm": 3}
#: about how many bytes of P (or dP) one group of batch rows spans in ``min_layer``
CHUNK_BYTES = 16 << 20
SIGNATURES = prototypes.signatures("min_scan.c")  #: read from the C definitions


_KERNEL = Kernel("min_scan", SIGNATURES)
library = _KERNEL.library  #: the loaded kernel, or None when it cannot be built
supported = _KERNEL.supported  #: whether tensors like ``x`` can use it (CPU float, it builds)


def _ptr(t: Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _require_library() -> None:
    if library() is None:
        raise RuntimeError("min_scan: the native kernel is unavailable; check supported()")


def _threads(values: int) -> int:
    """PyTorch's thread count (the OpenMP team the kernel joins), or 1 for a scan over fewer
    than ``MIN_PARALLEL_VALUES`` values."""
    lib = library()
    if lib is None or values < MIN_PARALLEL_VALUES:
        return 1
    return max(1, int(lib.rnnkit_max_threads()))


def _forward(kind: str, p: Tensor, bias: Tensor | None, h0: Tensor, out: Tensor,
             save: bool = False) -> None:  # fmt: skip
    """The recurrence over P (n, L, G*H) into out (n, L, H); all contiguous. With ``save``, the
    kernel stores its gates over P (``min_scan.c``) for a backward with ``saved``."""
    n, length, hidden = out.shape
    code = library().rnnkit_min_forward(  # type: ignore[union-attr]
        KINDS[kind], DTYPES[p.dtype], n, length, hidden, p.data_ptr(), _ptr(bias),
        h0.data_ptr(), out.data_ptr(), int(save), _threads(out.numel()),
    )  # fmt: skip
    if code != 0:
        raise MemoryError("min_scan: the native kernel could not allocate memory")


def _backward(kind: str, p: Tensor, bias: Tensor | None, h0: Tensor, out: Tensor, dout: Tensor,
              dp: Tensor, dbias: Tensor | None, dh0: Tensor,
              saved: bool = False) -> None:  # fmt: skip
    """dP (n, L, G*H), each row's bias gradient dbias (n, G*H) and dh0 (n, H) from dout (n, L, H)
    of any strides and P; the other tensors contiguous. With ``saved`` (after a ``save`` forward)
    it reads the gates stored there and writes dP over them: pass ``dp=p``."""
    n, length, hidden = out.shape
    code = library().rnnkit_min_backward(  # type: ignore[union-attr]
        KINDS[kind], DTYPES[p.dtype], n, length, hidden, p.data_ptr(), _ptr(bias),
        h0.data_ptr(), out.data_ptr(), dout.data_ptr(), *dout.stride(), dp.data_ptr(),
        _ptr(dbias), dh0.data_ptr(), int(saved), _threads(out.numel()),
    )  # fmt: skip
    if code != 0:
        raise MemoryError("min_scan: the native kernel could not allocate memory")


class MinScan(torch.autograd.Function):
    """``MinScan.apply(P, bias, h0, kind)``: all h_t; see the module docstring."""

    @staticmethod
    def forward(ctx: Any, projection: Tensor, bias: Tensor | None, h0: Tensor, kind: str) -> Tensor:
        _require_library()
        p, h0 = projection.contiguous(), h0.to(projection.dtype).contiguous()
        bias = None if bias is None else bias.to(p.dtype).contiguous()
        n, length, width = p.shape
        out = p.new_empty(n, length, width // KINDS[kind])
        _forward(kind, p, bias, h0, out)
        ctx.save_for_backward(p, bias, h0, out)
        ctx.kind = kind
        return out

    @staticmethod
    @first_order(LOG_SCAN.format(name="min_scan (MinGRU/MinLSTM scan='native')"))
    def backward(ctx: Any, dout: Tensor) -> tuple[Tensor, Tensor | None, Tensor, None]:
        p, bias, h0, out = ctx.saved_tensors
        n = p.shape[0]
        dp, dh0 = torch.empty_like(p), torch.empty_like(h0)
        dbias = None if bias is None else p.new_empty(n, p.shape[2])
        _backward(ctx.kind, p, bias, h0, out, dout, dp, dbias, dh0)
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


def chunk_rows(n: int, length: int, width: int, itemsize: int) -> int:
    """How many batch rows ``min_layer`` takes at a time: about ``CHUNK_BYTES`` of P."""
    return max(1, min(n, CHUNK_BYTES // max(1, length * width * itemsize)))


def _groups(n: int, rows: int) -> list[slice]:
    return [slice(first, min(n, first + rows)) for first in range(0, n, rows)]


def _layer_forward(x: Tensor, weight: Tensor, bias: Tensor | None, h0: Tensor, kind: str,
                   keep: bool) -> tuple[Tensor, list[Tensor]]:  # fmt: skip
    """All h_t (N, L, H), and when ``keep`` (for the backward) each group's P (n_g, L, G*H), over
    which a minGRU has stored its gates."""
    n, length, _ = x.shape
    width = weight.shape[0]
    out = x.new_empty(n, length, width // KINDS[kind])
    rows = chunk_rows(n, length, width, x.element_size())
    project, kept = onednn.PackedProduct(weight, rows * length), []
    for group in _groups(n, rows):
        p = project(x[group])
        _forward(kind, p, bias, h0[group], out[group], save=keep)
        if keep:
            kept.append(p)
    return out, kept


class MinLayer(torch.autograd.Function):
    """``MinLayer.apply(x, W, bias, h0, kind)``: all h_t of one layer; see the module docstring."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None, h0: Tensor,
                kind: str) -> Tensor:  # fmt: skip
        out, parts = _layer_forward(x, weight, bias, h0, kind, keep=True)
        ctx.save_for_backward(x, weight, bias, h0, out, *parts)
        ctx.kind, ctx.rows = kind, parts[0].shape[0] if parts else 1  # the backward's groups
        return out

    @staticmethod
    @first_order(LOG_SCAN.format(name="min_layer (MinGRU/MinLSTM scan='native')"))
    def backward(ctx: Any, dout: Tensor) -> tuple[Tensor | None, ...]:
        x, weight, bias, h0, out, *parts = ctx.saved_tensors
        if getattr(ctx, "consumed", False):  # backward again (retain_graph): dP overwrote them
            with torch.autocast("cpu", enabled=False):  # grad mode is off (first_order)
                parts = _layer_forward(x, weight, bias, h0, ctx.kind, keep=True)[1]
        ctx.consumed = True
        need_x, need_w, need_b, _, _ = ctx.needs_input_grad
        n, width = x.shape[0], weight.shape[0]
        dh0 = torch.empty_like(h0)
        dbias = x.new_empty(n, width) if bias is not None and need_b else None
        dx = torch.empty_like(x) if need_x else None
        # W's gradient is summed transposed, x_g^T dP_g: MKL runs that layout faster than
        # dP_g^T x_g at these shapes
        dwt = weight.new_zeros(weight.shape[1], width) if need_w else None
        for group, p in zip(_groups(n, ctx.rows), parts):
            part_bias = None if dbias is None else dbias[group]
            _backward(ctx.kind, p, bias, h0[group], out[group], dout[group], p, part_bias,
                      dh0[group], saved=True)  # fmt: skip
            flat = p.view(-1, width)  # dP, written over the saved gates
            if dwt is not None:
                dwt.addmm_(x[group].reshape(-1, x.shape[-1]).t(), flat)
            if dx is not None:
                torch.mm(flat, weight, out=dx[group].view(-1, x.shape[-1]))
        dw = None if dwt is None else dwt.t().contiguous()
        return dx, dw, None if dbias is None else dbias.sum(0), dh0, None


def min_layer(x: Tensor, weight: Tensor, bias: Tensor | None, h0: Tensor, kind: str) -> Tensor:
    """All h_t (N, L, H) of a minGRU (``kind="gru"``) or minLSTM (``"lstm"``) layer from its
    input x (N, L, I), projection weight W (G*H, I), bias (G*H) or None and h0 (N, H): the
    product and the recurrence in groups of batch rows (see the module docstring). Computes
    under fp32/fp64 whatever autocast says; differentiable when grad mode is on."""
    if kind not in KINDS:
        raise ValueError(f"min_layer: kind must be one of {sorted(KINDS)}, got {kind!r}")
    hidden = h0.shape[-1]
    if x.dim() != 3 or weight.shape != (KINDS[kind] * hidden, x.shape[-1]):
        raise ValueError(
            f"min_layer: expected x (N, L, I) and W ({KINDS[kind]}*H, I) with H = {hidden} from "
            f"h0, got x {tuple(x.shape)} and W {tuple(weight.shape)}"
        )
    if weight.dtype != x.dtype:
        raise ValueError(f"min_layer: x is {x.dtype} but W is {weight.dtype}")
    _require_library()
    x, weight, h0 = x.contiguous(), weight.contiguous(), h0.to(x.dtype).contiguous()
    bias = None if bias is None else bias.to(x.dtype).contiguous()
    with torch.autocast("cpu", enabled=False):
        if torch.is_grad_enabled() and any(
            t is not None and t.requires_grad for t in (x, weight, bias, h0)
        ):
            return MinLayer.apply(x, weight, bias, h0, kind)  # type: ignore[no-any-return]
        return _layer_forward(x, weight, bias, h0, kind, keep=False)[0]
