"""Layer-normalised LSTM steps with native element-wise parts (``lnlstm_step.c``), for
``rnnkit.backends.lstm_sequence`` on CPU.

Per step one product q = h_{t-1} W_hh^T (oneDNN with W_hh packed once per call for float32,
``addmm`` otherwise) and one native call for the three layer norms (of p = W_ih x_t, of q and
of c_t), the gates and the cell; backward one call and one product dh_{t-1} = base + dq W_hh.
The input's layer norm is done here, row by row, rather than by ``F.layer_norm`` over all steps:
that saves a pass over (N, L, 4H) each way and one tensor of that size (the normalised input),
which at T 1024 is 256 MB to allocate and fault in. Equations in ``lnlstm_step.c``.

The gradients of W_hh, sum_t dq_t^T h_{t-1}, and of W_ih, sum_t dp_t^T x_t (and x's,
dp_t W_ih), are accumulated every ``CHUNK_ROWS`` rows (steps x batch) from buffers reused
across chunks, instead of keeping dq and dp for all steps: at T 1024 that is 512 MB less memory
to fault in per call, for products still large enough to run at full speed.

Shapes: x (N, L, I); w_ih (4H, I); p (N, L, 4H) = x W_ih^T (rows may be strided);
h0, c0 (N, H); w_hh (4H, H); gains = (gamma_ih (4H), gamma_hh (4H)); bias (4H) = beta_ih +
b_ih + beta_hh + b_hh; ln_c = (gamma (H), beta (H)); peep (3, H) (zeros without peepholes);
mask (N, L) bool or None.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.backends import onednn
from rnnkit.kernels.build import DTYPES, Kernel

SIGNATURES = {
    "rnnkit_lnlstm_step_forward": ("illplpppppppppplplplpppppplli", None),
    "rnnkit_lnlstm_step_backward": ("illppllpplplplplpppppppppppplppppi", None),
}  # argument codes: rnnkit.kernels.build.CODES


_KERNEL = Kernel("lnlstm_step", SIGNATURES)
CHUNK_ROWS = 1024  #: rows (steps x batch) of dq per product into W_hh's gradient
library = _KERNEL.library  #: the loaded kernel, or None when it cannot be built
supported = _KERNEL.supported  #: whether tensors like ``x`` can use it (CPU float, it builds)


def _ptrs(*tensors: Tensor) -> list[int]:
    return [t.data_ptr() for t in tensors]


def forward(
    p: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, gains: tuple[Tensor, Tensor], bias: Tensor,
    ln_c: tuple[Tensor, Tensor], peep: Tensor, mask: Tensor | None,
) -> tuple[Tensor, ...]:  # fmt: skip
    """All steps: returns h (N, L, H), and for the backward p as used (unit stride in its last
    dimension) and, time-major (each step's rows contiguous), c (L, N, H), qh (L, N, 4H),
    ch (L, N, H), stats (L, N, 4) = [r_q, r_c, mean p, r_p]. Neither the gates nor the
    normalised input are kept: the backward recomputes them."""
    lib = library()
    assert lib is not None
    if p.stride(2) != 1:
        p = p.contiguous()
    h0, c0, peep = h0.contiguous(), c0.contiguous(), peep.contiguous()
    gih, ghh = (t.contiguous() for t in gains)
    gcc, bcc = (t.contiguous() for t in ln_c)
    bias = bias.contiguous()
    n, steps, g4 = p.shape
    hs, es, dbl = g4 // 4, p.element_size(), DTYPES[p.dtype]
    out, cells = p.new_empty(n, steps, hs), p.new_empty(steps, n, hs)
    qh, ch, stats = p.new_empty(steps, n, g4), p.new_empty(steps, n, hs), p.new_empty(steps, n, 4)
    if onednn.available(p):
        packed = onednn.pack(w_hh, n)
        product = lambda h: onednn.linear(h, packed)  # noqa: E731
    else:
        product = lambda h: torch.mm(h, w_hh.t())  # noqa: E731
    m = None if mask is None else mask.to(torch.uint8).contiguous()
    threads = _KERNEL.threads(n, g4)
    scratch = p.new_empty(threads, 2 * g4)  # each thread's current row: gates and ph
    fixed = _ptrs(gih, ghh, bias, gcc, bcc, peep[0], peep[1], peep[2])
    x0, sx = p.data_ptr(), p.stride(1)
    o0, c_0 = out.data_ptr(), cells.data_ptr()
    for t in range(steps):
        if t == 0:
            hp, sh, cp, sc = h0, hs, c0.data_ptr(), hs
        else:
            hp, sh, cp, sc = out[:, t - 1], steps * hs, c_0 + (t - 1) * n * hs * es, hs
        q = product(hp).contiguous()
        lib.rnnkit_lnlstm_step_forward(
            dbl, n, hs, x0 + t * sx * es, p.stride(0), q.data_ptr(), *fixed, hp.data_ptr(), sh,
            cp, sc, None if m is None else m.data_ptr() + t, steps, scratch.data_ptr(),
            c_0 + t * n * hs * es, qh[t].data_ptr(), ch[t].data_ptr(), stats[t].data_ptr(),
            o0 + t * hs * es, steps * hs, hs, threads,
        )  # fmt: skip
    return out, p, cells, qh, ch, stats


def backward(
    dout: Tensor, dc_last: Tensor | None, h0: Tensor, c0: Tensor, w_hh: Tensor,
    gains: tuple[Tensor, Tensor], bias: Tensor, ln_c: tuple[Tensor, Tensor], peep: Tensor,
    saved: tuple[Tensor, ...], mask: Tensor | None, x: Tensor, w_ih: Tensor, need_dx: bool,
) -> dict[str, Tensor | None]:  # fmt: skip
    """Walk the steps backwards; returns the gradients ``x`` (N, L, I; None unless
    ``need_dx``), ``w_ih``, ``h0``, ``c0``, ``w_hh``, ``gamma_ih``, ``gamma_hh``, ``bias``,
    ``gamma_c``, ``beta_c``, ``peep``. p's gradient dp is never whole: like dq it goes to a
    buffer of ``CHUNK_ROWS`` rows, from which W_ih's gradient (and x's) is accumulated."""
    lib = library()
    assert lib is not None
    out, p, cells, qh, ch, stats = saved
    n, steps, hs = out.shape
    es, dbl = out.element_size(), DTYPES[out.dtype]
    chunk = max(1, min(steps, CHUNK_ROWS // n))
    dq, dp = out.new_empty(chunk, n, 4 * hs), out.new_empty(chunk, n, 4 * hs)
    dw_hh, dw_ih = out.new_zeros(4 * hs, hs), out.new_zeros(w_ih.shape)
    dx = x.new_empty(x.shape) if need_dx else None
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
    d0, c_0 = dout.data_ptr(), cells.data_ptr()
    x0, sx = p.data_ptr(), p.stride(1)
    for t in range(steps - 1, -1, -1):
        cp = c0.data_ptr() if t == 0 else c_0 + (t - 1) * n * hs * es
        lib.rnnkit_lnlstm_step_backward(
            dbl, n, hs, dh.data_ptr(), d0 + t * st * es, sn, sj, dc.data_ptr(),
            None if m is None else m.data_ptr() + t, steps, x0 + t * sx * es, p.stride(0),
            c_0 + t * n * hs * es, hs, cp, hs, qh[t].data_ptr(), ch[t].data_ptr(),
            stats[t].data_ptr(), *fixed, dp[t % chunk].data_ptr(), 4 * hs,
            dq[t % chunk].data_ptr(), base.data_ptr(), sums.data_ptr(), work.data_ptr(), threads,
        )  # fmt: skip
        if packed is not None:
            dh = onednn.linear_add(dq[t % chunk], packed, base)
        else:
            dh = torch.addmm(base, dq[t % chunk], w_hh)
        if t % chunk == 0:  # steps t .. t + k - 1 are in dq[:k] and dp[:k]
            k = min(chunk, steps - t)
            prev = h_prev[t - 1 : t + k - 1] if t else torch.cat([h0[None], h_prev[: k - 1]])
            dw_hh.addmm_(dq[:k].reshape(k * n, 4 * hs).t(), prev.reshape(k * n, hs))
            dp_k = dp[:k].reshape(k * n, 4 * hs)
            dw_ih.addmm_(dp_k.t(), x[:, t : t + k].transpose(0, 1).reshape(k * n, -1))
            if dx is not None:
                dx[:, t : t + k] = (dp_k @ w_ih).view(k, n, -1).transpose(0, 1)
    sums = sums.sum(0)
    return {
        "x": dx, "w_ih": dw_ih, "h0": dh, "c0": dc,
        "w_hh": dw_hh,
        "gamma_ih": sums[13 * hs :], "gamma_hh": sums[3 * hs : 7 * hs],
        "bias": sums[9 * hs : 13 * hs],
        "gamma_c": sums[7 * hs : 8 * hs], "beta_c": sums[8 * hs : 9 * hs],
        "peep": sums[: 3 * hs].view(3, hs),
    }  # fmt: skip
