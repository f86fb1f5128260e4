"""GRU steps with native element-wise parts (``gru_step.c``): training and inference on CPU.

Each step of a GRU (``reset_after=True``, PyTorch's form; equations in ``gru_step.c`` and
``rnnkit.backends.gru_sequence``) is one matrix product plus about fifteen element-wise tensor
ops going forward and as many going backward; on CPU at batch 32 those ops, each a separate pass
with its own dispatch, cost about a third of training time. Here the product stays in PyTorch
and the rest of the step is one native call. Everything is stored time-major, (L, N, .), so each
step reads and writes contiguous blocks (batch-first rows of one step lie L rows apart, which on
CPU costs cache conflicts at long L); callers see batch-first views. For float32 the two products
per step (h W_hh^T forward, dgh W_hh backward) run through oneDNN with W_hh packed once per call
(``rnnkit.ops.onednn``), faster than ``addmm`` at these sizes (``benchmarks/products.py``).

Memory comes in blocks of steps (``rnnkit.kernels.blocks``): the projection gi = W_ih x + b_ih of
a block is computed just before its steps, the gates kept for the backward (r, z, n, gh_n) are one
set of tensors per block, and the backward writes a block's gi-gradient into one reused buffer
that the caller turns into W_ih's gradient (and x's) at once; W_hh's gradient is accumulated every
``CHUNK_ROWS`` rows from another reused buffer. At hidden 1024, batch 64, T 128 whole tensors
would be 335 MB a call, page-faulted in afresh every call.

Shapes: x (N, L, I); W_ih (3H, I), b_ih (3H,) or None; h0 (N, H); W_hh (3H, H); b_hh (3H,);
mask (N, L) bool or None -> h (N, L, H).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.kernels import blocks, prototypes
from rnnkit.kernels.build import DTYPES, Kernel
from rnnkit.ops import onednn

SIGNATURES = prototypes.signatures("gru_step.c")  #: read from the C definitions


_KERNEL = Kernel("gru_step", SIGNATURES)
CHUNK_ROWS = 1024  #: rows (steps x batch) of dgh per product into W_hh's gradient
library = _KERNEL.library  #: the loaded kernel, or None when it cannot be built
supported = _KERNEL.supported  #: whether tensors like ``x`` can use it (CPU float, it builds)


def _time_major_mask(mask: Tensor | None) -> Tensor | None:
    """(N, L) bool -> (L, N) uint8, contiguous: one step's flags side by side."""
    return None if mask is None else mask.t().to(torch.uint8).contiguous()


def forward(
    x: Tensor,
    w_ih: Tensor,
    b_ih: Tensor | None,
    h0: Tensor,
    w_hh: Tensor,
    b_hh: Tensor,
    mask: Tensor | None,
    keep: bool = True,
) -> tuple[Tensor, list[Tensor]]:
    """All steps: returns out (L, N, H), time-major, and the saved gates, per block of
    ``blocks.block_steps`` steps rz (k, N, 2H), n (k, N, H) and gh_n (k, N, H), in one flat list.
    Without ``keep`` (inference) every block writes its gates into one set of buffers, reused
    while it is still in the cache, and the list is empty."""
    lib = library()
    assert lib is not None
    steps, n, hs = x.shape[1], x.shape[0], w_hh.shape[1]
    g, es, dbl = 3 * hs, x.element_size(), DTYPES[x.dtype]
    size = blocks.block_steps(steps, n, g, es)
    project = onednn.PackedProduct(w_ih, size * n, b_ih)
    x_tm, h0 = x.transpose(0, 1), h0.contiguous()
    out, gh = x.new_empty(steps, n, hs), x.new_empty(n, 3 * hs)
    packed = onednn.pack(w_hh, n) if onednn.available(x) else None
    w_t, mask = w_hh.t(), _time_major_mask(mask)
    m0 = None if mask is None else mask.data_ptr()
    threads, o0, saved = _KERNEL.threads(n, g), out.data_ptr(), []
    reused = None if keep else _gate_buffers(x, size, n, hs)
    for t0, t1 in blocks.spans(steps, size):
        gi = project(x_tm[t0:t1])
        k = t1 - t0
        rz, cand, aux = _gate_buffers(x, k, n, hs) if reused is None else reused
        if keep:
            saved += [rz, cand, aux]
        x0, r0, c0, a0 = (t.data_ptr() for t in (gi, rz, cand, aux))
        for t in range(t0, t1):
            prev, i = h0 if t == 0 else out[t - 1], t - t0
            if packed is not None:
                gh = onednn.linear(prev, packed, b_hh)
            else:
                torch.addmm(b_hh, prev, w_t, out=gh)
            lib.rnnkit_gru_step_forward(
                dbl, n, hs, x0 + i * n * g * es, g, gh.data_ptr(), prev.data_ptr(), hs,
                None if m0 is None else m0 + t * n, 1, o0 + t * n * hs * es, hs,
                r0 + i * n * 2 * hs * es, 2 * hs, c0 + i * n * hs * es, hs,
                a0 + i * n * hs * es, hs, threads,
            )  # fmt: skip
    return out, saved


def _gate_buffers(x: Tensor, k: int, n: int, hs: int) -> tuple[Tensor, Tensor, Tensor]:
    """Uninitialised rz (k, N, 2H), n (k, N, H) and gh_n (k, N, H) like x."""
    return x.new_empty(k, n, 2 * hs), x.new_empty(k, n, hs), x.new_empty(k, n, hs)


def backward(
    dout: Tensor,
    h0: Tensor,
    w_hh: Tensor,
    out: Tensor,
    saved: list[Tensor],
    mask: Tensor | None,
    sink: blocks.BlockSink,
) -> tuple[Tensor, Tensor, Tensor]:
    """Walk the steps backwards from dout (N, L, H), any strides, with ``out`` (L, N, H) and
    ``saved`` as ``forward`` gave them: hands each block's gi-gradient, last block first, to
    ``sink(t0, t1, dgi)`` (dgi (t1 - t0, N, 3H), a buffer reused for the next block), and
    returns dh0 (N, H) and W_hh's and b_hh's gradients, sum_t dgh_t^T h_{t-1} (3H, H) and
    sum_t dgh_t (3H,)."""
    lib = library()
    assert lib is not None
    steps, n, hs = out.shape
    es, dbl = out.element_size(), DTYPES[out.dtype]
    size = saved[0].shape[0]
    chunk = max(1, min(steps, CHUNK_ROWS // n))
    dgi, dgh = out.new_empty(size, n, 3 * hs), out.new_empty(chunk, n, 3 * hs)
    dw_hh, db_hh = out.new_zeros(3 * hs, hs), out.new_zeros(3 * hs)
    threads = _KERNEL.threads(n, 3 * hs)  # each thread gathers into its own row of gbuf
    dh, base, gbuf = out.new_zeros(n, hs), out.new_empty(n, hs), out.new_empty(threads, hs)
    mask = _time_major_mask(mask)
    m0 = None if mask is None else mask.data_ptr()
    sn, st, sj = dout.stride()
    d0, o0, gi0 = dout.data_ptr(), out.data_ptr(), dgi.data_ptr()
    packed = onednn.pack(w_hh.t(), n) if onednn.available(out) else None
    for b, (t0, t1) in reversed(list(enumerate(blocks.spans(steps, size)))):
        r0, c0, a0 = (t.data_ptr() for t in saved[3 * b : 3 * b + 3])
        for t in range(t1 - 1, t0 - 1, -1):
            prev, k = h0.data_ptr() if t == 0 else o0 + (t - 1) * n * hs * es, t - t0
            lib.rnnkit_gru_step_backward(
                dbl, n, hs, dh.data_ptr(), d0 + t * st * es, sn, sj,
                None if m0 is None else m0 + t * n, 1, r0 + k * n * 2 * hs * es, 2 * hs,
                c0 + k * n * hs * es, hs, prev, hs, a0 + k * n * hs * es, hs,
                gi0 + k * n * 3 * hs * es, 3 * hs, dgh[t % chunk].data_ptr(), 3 * hs,
                base.data_ptr(), gbuf.data_ptr(), threads,
            )  # fmt: skip
            if packed is not None:
                dh = onednn.linear_add(dgh[t % chunk], packed, base)
            else:
                torch.addmm(base, dgh[t % chunk], w_hh, out=dh)
            if t % chunk == 0:  # steps t .. t + j - 1 are in dgh[:j]
                j = min(chunk, steps - t)
                prev_j = out[t - 1 : t + j - 1] if t else torch.cat([h0[None], out[: j - 1]])
                flat = dgh[:j].reshape(j * n, 3 * hs)
                dw_hh.addmm_(flat.t(), prev_j.reshape(j * n, hs))
                db_hh += flat.sum(0)
        sink(t0, t1, dgi[: t1 - t0])
    return dh, dw_hh, db_hh
