"""GRU steps with native element-wise parts (``gru_step.c``), for ``GRUSequence`` on CPU.

Each step of ``rnnkit.backends.gru_sequence.GRUSequence`` (``reset_after=True``) is one matrix
product plus about fifteen element-wise tensor ops going forward and as many going backward;
on CPU at batch 32 those ops, each a separate pass with its own dispatch, cost about a third of
training time. Here the product stays ``torch.addmm`` and the rest of the step is one native
call (equations in ``gru_step.c``). Everything is stored time-major, (L, N, .), so each step
reads and writes contiguous blocks (batch-first rows of one step lie L rows apart, which on CPU
costs cache conflicts at long L); callers see batch-first views. For
float32 the two products per step (h W_hh^T forward, dgh W_hh backward) run through oneDNN with
W_hh packed once per call (``rnnkit.backends.onednn``), about 1.8 times faster than ``addmm``
at these sizes. The backward accumulates W_hh's gradient every ``CHUNK_ROWS`` rows from a
reused buffer rather than keeping every step's dgh (192 MB at hidden 512, batch 32, T 1024, to
allocate and fault in per call).

Shapes as in ``GRUSequence``: xp (N, L, 3H) = W_ih x + b_ih; h0 (N, H); w_hh (3H, H);
b_hh (3H,); mask (N, L) bool or None.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.backends import onednn
from rnnkit.kernels.build import DTYPES, Kernel

SIGNATURES = {
    "rnnkit_gru_step_forward": ("illplpplplplplplpli", None),
    "rnnkit_gru_step_backward": ("illppllplplplplplplplppi", None),
}  # argument codes: rnnkit.kernels.build.CODES


_KERNEL = Kernel("gru_step", SIGNATURES)
CHUNK_ROWS = 1024  #: rows (steps x batch) of dgh per product into W_hh's gradient
library = _KERNEL.library  #: the loaded kernel, or None when it cannot be built
supported = _KERNEL.supported  #: whether tensors like ``x`` can use it (CPU float, it builds)


def _time_major_mask(mask: Tensor | None) -> Tensor | None:
    """(N, L) bool -> (L, N) uint8, contiguous: one step's flags side by side."""
    return None if mask is None else mask.t().to(torch.uint8).contiguous()


def forward(
    xp: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, mask: Tensor | None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """All steps: returns out (N, L, H), rz (N, L, 2H), cand (N, L, H), gh_n (N, L, H), each a
    batch-first view of time-major storage (one step's rows contiguous)."""
    lib = library()
    assert lib is not None
    xt = xp.transpose(0, 1).contiguous()  # no copy when xp is time-major storage already
    h0 = h0.contiguous()
    steps, n, g = xt.shape
    hs, es, dbl = g // 3, xt.element_size(), DTYPES[xt.dtype]
    out, cand, aux = (xt.new_empty(steps, n, hs) for _ in range(3))
    rz = xt.new_empty(steps, n, 2 * hs)
    gh = xt.new_empty(n, 3 * hs)
    w_t = w_hh.t()
    packed = onednn.pack(w_hh, n) if onednn.available(xt) else None
    mask = _time_major_mask(mask)
    m0 = None if mask is None else mask.data_ptr()
    threads = _KERNEL.threads(n, g)
    x0, o0, r0, c0, a0 = (t.data_ptr() for t in (xt, out, rz, cand, aux))
    for t in range(steps):
        prev = h0 if t == 0 else out[t - 1]
        if packed is not None:
            gh = onednn.linear(prev, packed, b_hh)
        else:
            torch.addmm(b_hh, prev, w_t, out=gh)
        lib.rnnkit_gru_step_forward(
            dbl, n, hs, x0 + t * n * g * es, g, gh.data_ptr(), prev.data_ptr(), hs,
            None if m0 is None else m0 + t * n, 1, o0 + t * n * hs * es, hs,
            r0 + t * n * 2 * hs * es, 2 * hs, c0 + t * n * hs * es, hs, a0 + t * n * hs * es, hs,
            threads,
        )  # fmt: skip
    return out.transpose(0, 1), rz.transpose(0, 1), cand.transpose(0, 1), aux.transpose(0, 1)


def backward(
    dout: Tensor,
    h0: Tensor,
    w_hh: Tensor,
    out: Tensor,
    rz: Tensor,
    cand: Tensor,
    aux: Tensor,
    mask: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Walk the steps backwards: returns dgi (N, L, 3H), dh0 (N, H), and W_hh's and b_hh's
    gradients, sum_t dgh_t^T h_{t-1} (3H, H) and sum_t dgh_t (3H,), accumulated every
    ``CHUNK_ROWS`` rows from a reused buffer (dgh is never whole); ``out`` ... ``aux`` as
    ``forward`` gave."""
    lib = library()
    assert lib is not None
    out, rz, cand, aux = (t.transpose(0, 1).contiguous() for t in (out, rz, cand, aux))
    steps, n, hs = out.shape
    es, dbl = out.element_size(), DTYPES[out.dtype]
    chunk = max(1, min(steps, CHUNK_ROWS // n))
    dgi, dgh = out.new_empty(steps, n, 3 * hs), out.new_empty(chunk, n, 3 * hs)
    dw_hh, db_hh = out.new_zeros(3 * hs, hs), out.new_zeros(3 * hs)
    threads = _KERNEL.threads(n, 3 * hs)  # each thread gathers into its own row of gbuf
    dh, base, gbuf = out.new_zeros(n, hs), out.new_empty(n, hs), out.new_empty(threads, hs)
    mask = _time_major_mask(mask)
    m0 = None if mask is None else mask.data_ptr()
    sn, st, sj = dout.stride()
    d0, r0, c0, a0, o0 = (t.data_ptr() for t in (dout, rz, cand, aux, out))
    gi0 = dgi.data_ptr()
    packed = onednn.pack(w_hh.t(), n) if onednn.available(out) else None
    for t in range(steps - 1, -1, -1):
        prev = h0.data_ptr() if t == 0 else o0 + (t - 1) * n * hs * es
        lib.rnnkit_gru_step_backward(
            dbl, n, hs, dh.data_ptr(), d0 + t * st * es, sn, sj,
            None if m0 is None else m0 + t * n, 1, r0 + t * n * 2 * hs * es, 2 * hs,
            c0 + t * n * hs * es, hs, prev, hs, a0 + t * n * hs * es, hs,
            gi0 + t * n * 3 * hs * es, 3 * hs, dgh[t % chunk].data_ptr(), 3 * hs,
            base.data_ptr(), gbuf.data_ptr(), threads,
        )  # fmt: skip
        if packed is not None:
            dh = onednn.linear_add(dgh[t % chunk], packed, base)
        else:
            torch.addmm(base, dgh[t % chunk], w_hh, out=dh)
        if t % chunk == 0:  # steps t .. t + k - 1 are in dgh[:k]
            k = min(chunk, steps - t)
            prev_k = out[t - 1 : t + k - 1] if t else torch.cat([h0[None], out[: k - 1]])
            flat = dgh[:k].reshape(k * n, 3 * hs)
            dw_hh.addmm_(flat.t(), prev_k.reshape(k * n, hs))
            db_hh += flat.sum(0)
    return dgi.transpose(0, 1), dh, dw_hh, db_hh
