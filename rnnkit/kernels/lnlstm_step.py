"""Layer-normalised LSTM steps with native element-wise parts (``lnlstm_step.c``), for
``rnnkit.backends.lstm_sequence`` on CPU.

Per step one product q = h_{t-1} W_hh^T (oneDNN with W_hh packed once per call for float32,
``addmm`` otherwise) and one native call for the three layer norms (of p = W_ih x_t, of q and
of c_t), the gates and the cell; backward one call and one product dh_{t-1} = base + dq W_hh.
The input's layer norm is done here, row by row, rather than by ``F.layer_norm`` over all steps:
that saves a pass over (N, L, 4H) each way and one tensor of that size (the normalised input),
which at T 1024 is 256 MB to allocate and fault in. Equations in ``lnlstm_step.c``.

The input projection p = x W_ih^T, the tensors kept for the backward and the gradients of p
and q come in blocks of steps (``rnnkit.kernels.blocks``): the gradients of W_hh,
sum_t dq_t^T h_{t-1}, and of W_ih, sum_t dp_t^T x_t (and x's, dp_t W_ih), are accumulated
block by block from buffers reused across blocks, so no whole-sequence tensor but h itself is
allocated per call (at T 1024 whole dq and dp alone would be 512 MB to fault in per call).

Shapes: x (N, L, I); w_ih (4H, I); h0, c0 (N, H); w_hh (4H, H); gains = (gamma_ih (4H),
gamma_hh (4H)); bias (4H) = beta_ih + b_ih + beta_hh + b_hh; ln_c = (gamma (H), beta (H));
peep (3, H) (zeros without peepholes); mask (N, L) bool or None.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.kernels import blocks, prototypes
from rnnkit.kernels.build import DTYPES, Kernel
from rnnkit.ops import onednn

SIGNATURES = prototypes.signatures("lnlstm_step.c")  #: read from the C definitions


_KERNEL = Kernel("lnlstm_step", SIGNATURES)
library = _KERNEL.library  #: the loaded kernel, or None when it cannot be built
supported = _KERNEL.supported  #: whether tensors like ``x`` can use it (CPU float, it builds)


def _ptrs(*tensors: Tensor) -> list[int]:
    return [t.data_ptr() for t in tensors]


def forward(
    x: Tensor, w_ih: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, gains: tuple[Tensor, Tensor],
    bias: Tensor, ln_c: tuple[Tensor, Tensor], peep: Tensor, mask: Tensor | None,
) -> tuple[Tensor, list[Tensor]]:  # fmt: skip
    """All steps from x (N, L, I): returns h (N, L, H) and, per block of
    ``blocks.block_steps`` steps, for the backward, time-major (each step's rows contiguous)
    p (k, N, 4H), c (k, N, H), qh (k, N, 4H), ch (k, N, H) and stats (k, N, 4) =
    [r_q, r_c, mean p, r_p], in one flat list. Neither the gates nor the normalised input are
    kept: the backward recomputes them."""
    lib = library()
    assert lib is not None
    h0, c0, peep = h0.contiguous(), c0.contiguous(), peep.contiguous()
    gih, ghh = (t.contiguous() for t in gains)
    gcc, bcc = (t.contiguous() for t in ln_c)
    bias = bias.contiguous()
    n, steps, hs = x.shape[0], x.shape[1], w_hh.shape[1]
    g4, es, dbl = 4 * hs, x.element_size(), DTYPES[x.dtype]
    size = blocks.block_steps(steps, n, g4, es)
    project = onednn.PackedProduct(w_ih, size * n)
    out, x_tm, saved = x.new_empty(n, steps, hs), x.transpose(0, 1), []
    if onednn.available(x):
        packed = onednn.pack(w_hh, n)
        product = lambda h: onednn.linear(h, packed)  # noqa: E731
    else:
        product = lambda h: torch.mm(h, w_hh.t())  # noqa: E731
    m = None if mask is None else mask.to(torch.uint8).contiguous()
    threads = _KERNEL.threads(n, g4)
    scratch = x.new_empty(threads, 2 * g4)  # each thread's current row: gates and ph
    fixed = _ptrs(gih, ghh, bias, gcc, bcc, peep[0], peep[1], peep[2])
    o0, cp = out.data_ptr(), c0.data_ptr()
    for t0, t1 in blocks.spans(steps, size):
        k = t1 - t0
        p = project(x_tm[t0:t1])
        cells, qh, ch = x.new_empty(k, n, hs), x.new_empty(k, n, g4), x.new_empty(k, n, hs)
        stats = x.new_empty(k, n, 4)
        saved += [p, cells, qh, ch, stats]
        x0, c_0 = p.data_ptr(), cells.data_ptr()
        for t in range(t0, t1):
            hp, sh = (h0, hs) if t == 0 else (out[:, t - 1], steps * hs)
            q, i = product(hp).contiguous(), t - t0
            lib.rnnkit_lnlstm_step_forward(
                dbl, n, hs, x0 + i * n * g4 * es, g4, q.data_ptr(), *fixed, hp.data_ptr(), sh,
                cp, hs, None if m is None else m.data_ptr() + t, steps, scratch.data_ptr(),
                c_0 + i * n * hs * es, qh[i].data_ptr(), ch[i].data_ptr(), stats[i].data_ptr(),
                o0 + t * hs * es, steps * hs, hs, threads,
            )  # fmt: skip
            cp = c_0 + i * n * hs * es
    return out, saved


def backward(
    dout: Tensor, dc_last: Tensor | None, h0: Tensor, c0: Tensor, w_hh: Tensor,
    gains: tuple[Tensor, Tensor], bias: Tensor, ln_c: tuple[Tensor, Tensor], peep: Tensor,
    out: Tensor, saved: list[Tensor], mask: Tensor | None, sink: blocks.BlockSink,
) -> dict[str, Tensor]:  # fmt: skip
    """Walk the steps backwards with ``out`` and ``saved`` as ``forward`` gave them: hands each
    block's gradient of p, last block first, to ``sink(t0, t1, dp)`` (dp (t1 - t0, N, 4H), a
    buffer reused for the next block: W_ih's and x's gradients come from it), and returns the
    gradients ``h0``, ``c0``, ``w_hh``, ``gamma_ih``, ``gamma_hh``, ``bias``, ``gamma_c``,
    ``beta_c``, ``peep``."""
    lib = library()
    assert lib is not None
    n, steps, hs = out.shape
    es, dbl = out.element_size(), DTYPES[out.dtype]
    size = saved[0].shape[0]
    dq, dp = out.new_empty(size, n, 4 * hs), out.new_empty(size, n, 4 * hs)
    dw_hh = out.new_zeros(4 * hs, hs)
    h_prev = out.transpose(0, 1)  # (L, N, H): h_t; h_{t-1} of step t is h_prev[t - 1] or h0
    dh = out.new_zeros(n, hs)
    dc = out.new_zeros(n, hs) if dc_last is None else dc_last.clone().contiguous()
    threads = _KERNEL.threads(n, 4 * hs)  # each thread sums its rows into its own row of sums
    base, work = out.new_empty(n, hs), out.new_empty(threads, 21 * hs)
    sums = out.new_zeros(threads, 17 * hs)
    m = None if mask is None else mask.to(torch.uint8).contiguous()
    packed = onednn.pack(w_hh.t(), n) if onednn.available(out) else None
    sn, st, sj = dout.stride()
    keep = (*(g.contiguous() for g in gains), bias.contiguous(), ln_c[0].contiguous(),
            ln_c[1].contiguous(), peep.contiguous())  # fmt: skip
    # (kept referenced until the loop ends: the kernel reads their memory)
    fixed = _ptrs(*keep[:5], keep[5][0], keep[5][1], keep[5][2])
    d0 = dout.data_ptr()
    for b, (t0, t1) in reversed(list(enumerate(blocks.spans(steps, size)))):
        p, cells, qh, ch, stats = saved[5 * b : 5 * b + 5]
        x0, c_0 = p.data_ptr(), cells.data_ptr()
        for t in range(t1 - 1, t0 - 1, -1):
            i = t - t0
            cp = blocks.previous_step(t, t0, c0, saved[5 * b - 4] if b else None, cells)
            lib.rnnkit_lnlstm_step_backward(
                dbl, n, hs, dh.data_ptr(), d0 + t * st * es, sn, sj, dc.data_ptr(),
                None if m is None else m.data_ptr() + t, steps, x0 + i * n * 4 * hs * es,
                4 * hs, c_0 + i * n * hs * es, hs, cp, hs, qh[i].data_ptr(), ch[i].data_ptr(),
                stats[i].data_ptr(), *fixed, dp[i].data_ptr(), 4 * hs, dq[i].data_ptr(),
                base.data_ptr(), sums.data_ptr(), work.data_ptr(), threads,
            )  # fmt: skip
            if packed is not None:
                dh = onednn.linear_add(dq[i], packed, base)
            else:
                dh = torch.addmm(base, dq[i], w_hh)
        k = t1 - t0
        prev = h_prev[t0 - 1 : t1 - 1] if t0 else torch.cat([h0[None], h_prev[: t1 - 1]])
        dw_hh.addmm_(dq[:k].reshape(k * n, 4 * hs).t(), prev.reshape(k * n, hs))
        sink(t0, t1, dp[:k])
    sums = sums.sum(0)
    return {
        "h0": dh, "c0": dc, "w_hh": dw_hh,
        "gamma_ih": sums[13 * hs :], "gamma_hh": sums[3 * hs : 7 * hs],
        "bias": sums[9 * hs : 13 * hs],
        "gamma_c": sums[7 * hs : 8 * hs], "beta_c": sums[8 * hs : 9 * hs],
        "peep": sums[: 3 * hs].view(3, hs),
    }  # fmt: skip
